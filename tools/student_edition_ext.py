"""Sphinx extension for the student edition: no solution and no source download.

Jupyter Book builds ``html_theme_options`` itself, so the download button is
switched off here, after that dictionary exists, rather than in ``_config.yml``.
"""


def _student_settings(app, config):
    config.hide_solutions = True  # sphinx-exercise drops every solution block
    config.html_copy_source = False  # no notebook sources under _sources/
    config.html_show_sourcelink = False
    options = dict(config.html_theme_options or {})
    options["use_download_button"] = False
    config.html_theme_options = options


def setup(app):
    app.connect("config-inited", _student_settings, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
