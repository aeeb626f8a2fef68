"""Charts: every module computes its data in pure functions and draws it separately.

matplotlib is imported only inside the drawing functions; importing :mod:`archcalc.plots`
(or any data function) never loads it.
"""
