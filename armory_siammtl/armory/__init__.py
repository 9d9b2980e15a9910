"""What glues the package to ARMORY: model factory, scenario files and their checks, results JSON, offline
setup, and OTB2015-Person as an ARMORY dataset."""
