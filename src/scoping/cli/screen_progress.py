"""The progress line both screens show (the full-screen window and ``--plain``).

Kept apart from ``screen_tui`` so that the line-based screen never imports Textual (about
0.4 s of CPU at start-up on a 2-core machine).
"""

from __future__ import annotations

from scoping.screen import ScreeningSession

__all__ = ["progress_text"]


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def progress_text(session: ScreeningSession) -> str:
    """``"12 / 135 done · 240 per hour · about 30 min left"``."""
    p = session.progress()
    parts = [f"{p.done:,} / {p.assigned:,} done"]
    if p.per_hour is not None:
        parts.append(f"{p.per_hour:,.0f} per hour")
    if p.seconds_left is not None and p.remaining:
        parts.append(f"about {_duration(p.seconds_left)} left")
    return " · ".join(parts)
