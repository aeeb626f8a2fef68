"""One module per ``archcalc`` subcommand (see :mod:`archcalc.cli`)."""
