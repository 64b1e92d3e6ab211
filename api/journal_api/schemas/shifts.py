"""Response body of `GET /api/v1/insights/shifts`: significant changes between two windows."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class Window(BaseModel):
    start_date: dt.date
    end_date: dt.date
    days: int
    active_days: int = Field(description="Local days with at least one analysed entry.")
    entries: int = Field(description="Analysed entries.")
    polarity: float | None = Field(description="Mean of the active days' mean polarity.")
    ekman: dict[str, float] = Field(description="Share of entries per strongest Ekman emotion.")


class Method(BaseModel):
    polarity_test: str
    share_test: str
    correction: str
    alpha: float
    min_active_days: int = Field(description="Per window, before anything is tested.")
    min_entries: int = Field(description="Per window, before anything is tested.")


class Test(BaseModel):
    """One hypothesis tested: `measure` is `polarity` or `ekman:<label>`."""

    measure: str
    recent: float
    baseline: float
    statistic: float = Field(description="Welch's t or the z score; > 0 when recent is higher.")
    p_value: float
    adjusted_p_value: float = Field(description="Benjamini-Hochberg over all tests.")
    significant: bool = Field(description="adjusted_p_value <= alpha.")


class Drivers(BaseModel):
    """What the entries that carry the shift have in common, more than the other window's."""

    tags: list[str]
    topics: list[str]
    terms: list[str]


class Shift(BaseModel):
    measure: str
    direction: Literal["up", "down"]
    recent: float
    baseline: float
    p_value: float
    adjusted_p_value: float
    explanation: str
    drivers: Drivers


class ShiftsPublic(BaseModel):
    """Changes between the last `recent_days` local days and the `baseline_days` before
    them that are statistically significant. With too little data in either window,
    `status` is `not_enough_data`, nothing is tested and `message` gives the counts."""

    status: Literal["ok", "not_enough_data"]
    message: str
    timezone: str
    recent: Window
    baseline: Window
    method: Method
    tests: list[Test]
    shifts: list[Shift] = Field(description="Significant tests only, strongest first.")
