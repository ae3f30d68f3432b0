"""The weekly report domain: stored rows in, a report model out, rendered, charted and delivered.

Data flows one way, every step a plain function (no Prefect here; :mod:`flows.report_flow` wraps it):

- :mod:`flows.report.model`: the ISO week and the report's records (``WeeklyReport`` and its parts), and
  the JSON document of ``hipsync report --format json``;
- :mod:`flows.report.names`: the words every output uses (exercise names, resistances, volume units,
  verdicts, the tempo notation);
- :mod:`flows.report.figures`: small measures shared by the rules (medians, volume load per unit, time
  under tension, implausible ROM and set flags, sets grouped into sessions and weeks);
- :mod:`flows.report.progression`: double progression and stalls per load unit, one rule per verdict;
- :mod:`flows.report.recovery`: sessions per week, rest between them, acute:chronic load, left/right;
- :mod:`flows.report.build`: rows -> ``WeeklyReport`` (per exercise figures, recovery, history, summary);
- :mod:`flows.report.render` (HTML, Markdown, table rows) and :mod:`flows.report.charts` (PNG charts);
- :mod:`flows.report.produce`: the fast path: database -> model -> files and the ``reports`` table;
- :mod:`flows.report.delivery`: email (SMTP) and webhook.

Nothing is imported here, so importing one step does not pull in matplotlib or jinja2.
"""
