"""Render farms: chunk shots with a warm-up preroll and write jobs for OpenJD, Deadline 10 and OpenCue."""
