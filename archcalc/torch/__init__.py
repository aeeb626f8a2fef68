"""The torch side of archcalc: modules, the model builder, the cross-check against fvcore and the
reference-model comparison. Nothing here is imported by the static path; each submodule imports
torch itself."""
