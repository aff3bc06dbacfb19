"""The challenge platform's scoring program, as ``magic export-scoring-program`` exports it.

The platform (Codabench, and CodaLab competitions with the same convention) unpacks the exported
bundle into ``/app/program``, the reference into ``/app/input/ref``, the participant's upload into
``/app/input/res``, and runs the ``command`` of the bundle's ``metadata.yaml``; the program writes
``/app/output/scores.json`` and ``/app/output/detailed_results.html``.

Modules: :mod:`.pins` (the scoring image: Python version and pinned dependencies),
:mod:`.engine` (the scorer's whole-submission functions, imported in this one place),
:mod:`.platform_reference` (the reference as the platform mounts it), :mod:`.upload_scan` (the
upload folder walked without following links), :mod:`.upload` (the upload: walk, check, then
score), :mod:`.findings` (problems grouped and counted for the log and the page),
:mod:`.public_view` (what the summary may say: nothing of the reference beyond scores.json),
:mod:`.public_text` (no server path, nothing unprintable), :mod:`.summary_page` and
:mod:`.details_page` (``detailed_results.html`` at the summary and the full detail),
:mod:`.platform_run` (the program the bundle runs), :mod:`.bundle` (what the export writes).
Only the last is not copied into the bundle.
"""
