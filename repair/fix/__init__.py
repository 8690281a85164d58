"""The engine of ``repair diagnose`` and ``repair fix``: the rewrite contract, diagnosis, the plan of fixes, the
pipeline that runs the stages in order, its result, and the reports.

Imports ``repair.core``, ``repair.model`` and ``repair.source`` (source edits offered beside model fixes), never a
catalog: the CLI passes the catalogs in.
"""
