// Loaded on pages that show widgets, after RequireJS and before the
// ipywidgets HTML manager (see nb_ipywidgets_js in _config.yml).
(function () {
  // 1. The HTML manager finds its icon fonts next to the URL RequireJS gives
  //    its module ids, by default relative to the page.  Point those ids at
  //    the copy the book serves in _static/html-manager/.
  var scriptUrl = document.currentScript && document.currentScript.src;
  if (scriptUrl) {
    var dist = new URL("html-manager/", scriptUrl).href;
    window.__jupyter_widgets_assets_path__ = dist;
    if (window.requirejs) {
      window.requirejs.config({
        paths: { "@jupyter-widgets/html-manager/dist": dist.replace(/\/$/, "") },
      });
    }
  }

  // 2. The HTML manager typesets widget labels with the MathJax 2 call
  //    MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]).  The book loads
  //    MathJax 3, which has no Hub, so forward that call to MathJax 3.
  //    MathJax is loaded with defer, so it has run by DOMContentLoaded.
  function installHub() {
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub || !mathjax.startup) {
      return;
    }
    mathjax.Hub = {
      Queue: function (job) {
        var element = Array.isArray(job) ? job[2] : undefined;
        mathjax.startup.promise.then(function () {
          return mathjax.typesetPromise(element ? [element] : undefined);
        });
      },
    };
  }
  document.addEventListener("DOMContentLoaded", installHub);

  // 3. A saved widget shows its last state, but without a kernel its
  //    controls change nothing.  Make each one inert (no clicks, no tab
  //    stops) and put a note above it, because the kernel-free explorer after
  //    it is the version that responds on this page.
  function markSnapshots() {
    var views = document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]');
    views.forEach(function (view) {
      var output = view.closest(".cell_output") || view.parentElement;
      if (!output || output.classList.contains("bp-widget-snapshot")) {
        return;
      }
      output.classList.add("bp-widget-snapshot");
      output.setAttribute("inert", "");
      var note = document.createElement("p");
      note.className = "bp-widget-note";
      note.textContent = "Snapshot of the live widget: its controls respond only " +
        "in a running notebook ('make live' or a launch button). The explorer " +
        "below works on this page.";
      output.parentNode.insertBefore(note, output);
    });
  }
  document.addEventListener("DOMContentLoaded", markSnapshots);
})();
