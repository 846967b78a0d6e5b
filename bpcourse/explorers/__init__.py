"""The computations behind the book's interactive figures, one module per chapter.

Every explorer is a plain function of its parameters that returns data, a
function that draws that data, and a thin ipywidgets wiring of the two, so the
same computation serves the live widget, a static figure and the tests.
"""
