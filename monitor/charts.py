"""A PNG chart of the metric around an anomaly (observed, the expected level and band from past
weeks, the missing orders shaded, the zero line drawn, the start marked), shown in e-mails so
the seller and support see it at a glance."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.message import Event
from monitor.i18n import LANGUAGES
from monitor.texts import WORDS


def anomaly_chart(event: Event, language: str, tz: ZoneInfo) -> bytes:
    """PNG bytes of the event's `series` (the caller checks it has one). Matplotlib is imported
    here, when a chart is drawn, not when the daemon starts."""
    series = event.series
    assert series is not None
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib import dates, pyplot as plt

    start = datetime.fromisoformat(series.start)
    step = timedelta(minutes=series.step_minutes)
    # matplotlib converts datetimes itself, though its stubs admit only numbers: hence Any
    xs: list[Any] = [(start + step * i).astimezone(tz) for i in range(len(series.observed))]
    words = WORDS[language]
    observed_label, usual_label, start_label = words["chart_observed"], words["chart_usual"], words["chart_start"]
    began: Any = datetime.fromisoformat(event.started_at).astimezone(tz)
    figure, axes = plt.subplots(figsize=(8, 3.2), dpi=100)
    try:
        axes.fill_between(xs, series.low, series.high, step="post", alpha=0.25, color="tab:blue", label=usual_label)
        axes.step(xs, series.expected, where="post", color="tab:blue", linewidth=1)
        short = [x >= began - step and o < e for x, o, e in zip(xs, series.observed, series.expected)]
        axes.fill_between(xs, series.observed, series.expected, where=short, step="post", color="tab:red",
                          alpha=0.2, label=words["chart_missing"])
        axes.axhline(0, color="black", linewidth=0.8)  # a fall to zero shows as the red line on it
        axes.step(xs, series.observed, where="post", color="tab:red", linewidth=2, label=observed_label)
        if xs[0] <= began <= xs[-1] + step:
            axes.axvline(began, color="black", linestyle="--", linewidth=1, label=start_label)
        axes.set_title(event.title, fontsize=10)
        axes.legend(fontsize=8, loc="lower left", framealpha=0.9)
        axes.set_ylabel(observed_label, fontsize=9)
        top = max(max(series.high, default=1), max(series.observed, default=1), 1)
        axes.set_ylim(bottom=-0.03 * top)
        axes.xaxis.set_major_formatter(dates.DateFormatter(LANGUAGES[language].clock_other_day, tz=tz))
        figure.autofmt_xdate()
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(figure)
