"""Enforce "must not call": the static scan of a submission's source and the ops it must not run."""
