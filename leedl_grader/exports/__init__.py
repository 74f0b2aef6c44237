"""Exports: leedl's results in the formats courses already use.

One module per format, each derived from the data model (:mod:`leedl_grader.model`) and
nothing else: ``nbgrader`` (source notebooks and an autograde preprocessor), ``gradescope``
(the autograder zip), ``lms`` (Canvas and Moodle gradebooks), ``junit`` (CI reports) and
``html`` (a feedback page per student). ``text`` keeps student text inert in all of them.
"""

EXPORT_FORMATS = ("canvas", "moodle", "csv", "junit", "html")  # `leedl export FORMAT`
