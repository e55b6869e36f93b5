"""Assessors: judge a finished research cycle and write ``strategies/<name>/assessment.json``.

The job entry point is ``ktrdr.agents.assessment.job:run_assessment_job`` (imported from its
module so that importing this package stays light).
"""

from __future__ import annotations

from ktrdr.agents.assessment.offline import ASSESSMENT_FILE, VERDICTS, assess, write_assessment

__all__ = ["ASSESSMENT_FILE", "VERDICTS", "assess", "write_assessment"]
