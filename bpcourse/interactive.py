"""Kernel-free interactive figures: precomputed frames behind sliders.

A static HTML book has no Python behind it, so an ipywidgets slider there does
not respond. ``FrameExplorer`` renders a figure for every combination of a few
discrete parameter values with the same drawing function the live widget uses,
embeds the frames as PNG images, and switches between them with a few lines of
JavaScript. It needs no kernel and no network, and its sliders are ordinary
``<input type="range">`` elements, so the keyboard moves them too.
"""

import base64
import hashlib
import html
import io
import itertools
import json

#: Most frames one explorer may embed. The book's frames are PNGs of 3–31 kB,
#: so this keeps a page within a few megabytes.
MAX_FRAMES = 150

#: Resolution of the embedded frames, in dots per inch: a figure 6 inches wide
#: becomes 540 pixels, which fits the book's text column.
FRAME_DPI = 90

#: Colours a frame keeps (see ``png_bytes``).
FRAME_COLOURS = 256


def png_bytes(figure, dpi=FRAME_DPI):
    """Return ``figure`` as the PNG bytes that ``FrameExplorer`` embeds.

    The figure is saved without metadata, so the bytes depend only on what is
    drawn, then reduced to a palette of ``FRAME_COLOURS`` colours. The book's
    plots are lines, bars and colour maps on white, and their palette PNGs are
    about 40% of the size of full-colour ones. That is what lets a page embed
    dozens of frames at a readable resolution.
    """
    from PIL import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    buffer.seek(0)
    with Image.open(buffer) as image:
        palette = image.convert("RGB").quantize(colors=FRAME_COLOURS,
                                               method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()

_SCRIPT = """
(function () {
  var root = document.getElementById(%(id)s);
  if (!root) { return; }
  var data = JSON.parse(root.querySelector("script.bp-frames-data").textContent);
  var sliders = root.querySelectorAll("input.bp-frames-slider");
  var image = root.querySelector("img.bp-frames-image");
  function show() {
    var key = [];
    sliders.forEach(function (slider, i) {
      var value = data.values[i][Number(slider.value)];
      slider.setAttribute("aria-valuetext", String(value));
      slider.parentNode.querySelector("output").textContent = String(value);
      key.push(slider.value);
    });
    key = key.join("_");
    image.src = data.frames[key];
    image.alt = data.alts[key];
  }
  sliders.forEach(function (slider) { slider.addEventListener("input", show); });
  // On a narrow screen the frame shrinks to the column and its labels get
  // small; the button shows it at full size in a box that scrolls sideways.
  var zoom = root.querySelector("button.bp-frames-zoom");
  var full = false;
  var view = root.querySelector(".bp-frames-view");
  function layout() {
    // A frame that fits the column at its full size needs no zoom.
    if (full && view.clientWidth >= image.naturalWidth) { full = false; }
    image.style.maxWidth = full ? "none" : "100%%";
    image.style.width = full ? image.naturalWidth + "px" : "";
    zoom.setAttribute("aria-pressed", full ? "true" : "false");
    zoom.textContent = full ? "Fit to the column" : "Show at full size";
    zoom.hidden = !full && image.clientWidth >= 0.9 * image.naturalWidth;
  }
  zoom.addEventListener("click", function () { full = !full; layout(); });
  // Frames may differ in width, so each new frame is laid out when it loads.
  image.addEventListener("load", layout);
  if (image.complete) { layout(); }
  window.addEventListener("resize", layout);
})();
"""


def _format(value):
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class FrameExplorer:
    """A figure that responds to sliders in static HTML, from precomputed frames.

    Parameters
    ----------
    draw : callable
        ``draw(**params) -> matplotlib.figure.Figure``; the figure is closed after
        it is rendered.
    params : dict of str to sequence
        The values each slider steps through, in order.
    initial : dict, optional
        The value each slider starts at; by default the middle of its list.
    alt : callable or str
        The alt text of a frame: ``alt(**params) -> str``, or one string for all.
    labels : dict of str to str, optional
        Slider labels; by default the parameter names.
    dpi : int
        Resolution of the frames.
    """

    def __init__(self, draw, params, initial=None, alt="", labels=None, dpi=FRAME_DPI):
        if not params:
            raise ValueError("params is empty: give at least one slider's values")
        self.draw = draw
        self.params = {name: list(values) for name, values in params.items()}
        for name, values in self.params.items():
            if not values:
                raise ValueError(f"slider {name!r} has no values")
        self.num_frames = 1
        for values in self.params.values():
            self.num_frames *= len(values)
        if self.num_frames > MAX_FRAMES:
            raise ValueError(
                f"{self.num_frames} frames is more than MAX_FRAMES = {MAX_FRAMES}: "
                "give the sliders fewer values"
            )
        self.initial = {}
        for name, values in self.params.items():
            start = (initial or {}).get(name, values[len(values) // 2])
            if start not in values:
                raise ValueError(
                    f"initial value {start!r} of {name!r} is not among its values "
                    f"{values}"
                )
            self.initial[name] = start
        self.alt = alt
        self.labels = labels or {}
        self.dpi = dpi
        self._rendered = None

    def __repr__(self):
        sliders = ", ".join(f"{name}: {len(v)} values" for name, v in self.params.items())
        return f"FrameExplorer({sliders}; {self.num_frames} frames)"

    def combinations(self):
        """Yield ``(key, params)`` for every frame; the key joins the value indices."""
        names = list(self.params)
        ranges = [range(len(self.params[name])) for name in names]
        for indices in itertools.product(*ranges):
            key = "_".join(str(i) for i in indices)
            yield key, {name: self.params[name][i] for name, i in zip(names, indices)}

    def alt_text(self, params):
        """Return the alt text of the frame drawn for ``params``."""
        return self.alt(**params) if callable(self.alt) else str(self.alt)

    def render(self):
        """Draw every frame and return ``{key: (data URI, alt text)}``."""
        import matplotlib.pyplot as plt

        if self._rendered is None:
            frames = {}
            for key, params in self.combinations():
                figure = self.draw(**params)
                encoded = base64.b64encode(png_bytes(figure, self.dpi)).decode("ascii")
                plt.close(figure)
                frames[key] = (f"data:image/png;base64,{encoded}", self.alt_text(params))
            self._rendered = frames
        return self._rendered

    def _element_id(self):
        description = json.dumps(
            [getattr(self.draw, "__qualname__", "draw"),
             {k: [_format(v) for v in vals] for k, vals in self.params.items()}],
            sort_keys=True,
        )
        return "bp-frames-" + hashlib.sha1(description.encode()).hexdigest()[:12]

    def _repr_html_(self):
        frames = self.render()
        element_id = self._element_id()
        names = list(self.params)
        start_key = "_".join(
            str(self.params[name].index(self.initial[name])) for name in names
        )
        controls = []
        for name in names:
            values = self.params[name]
            index = values.index(self.initial[name])
            label = html.escape(self.labels.get(name, name))
            controls.append(
                f'<label style="display:block;margin:0.2em 0">{label} '
                # The slider and its value wrap to a new line together on a
                # narrow screen, never apart.
                '<span style="white-space:nowrap">'
                f'<input type="range" class="bp-frames-slider" min="0" '
                f'max="{len(values) - 1}" step="1" value="{index}" '
                f'aria-label="{label}" '
                f'aria-valuetext="{html.escape(_format(self.initial[name]))}"> '
                f"<output>{html.escape(_format(self.initial[name]))}</output></span></label>"
            )
        data = {
            "values": [[_format(v) for v in self.params[name]] for name in names],
            "frames": {key: uri for key, (uri, _) in frames.items()},
            "alts": {key: alt for key, (_, alt) in frames.items()},
        }
        start_uri, start_alt = frames[start_key]
        payload = json.dumps(data, sort_keys=True).replace("</", "<\\/")
        return (
            f'<div class="bp-frames" id="{element_id}">\n'
            + "\n".join(controls)
            + '\n<button type="button" class="bp-frames-zoom" aria-pressed="false" '
            'style="margin:0.3em 0" '
            'hidden>Show at full size</button>'
            + '\n<div class="bp-frames-view" style="overflow-x:auto">'
            f'<img class="bp-frames-image" src="{start_uri}" '
            f'alt="{html.escape(start_alt)}" style="max-width:100%;height:auto"></div>\n'
            f'<script type="application/json" class="bp-frames-data">{payload}'
            "</script>\n"
            f"<script>{_SCRIPT % {'id': json.dumps(element_id)}}</script>\n</div>"
        )
