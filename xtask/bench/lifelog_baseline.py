#!/usr/bin/env python3
"""The AURORA_LIFE contract's baseline energy and mood predictions written the way its Python
service computed them (plain Python over a list of event dicts with datetime fields and
`event_data` dicts, `statistics`): the same-run baseline for
`cargo bench -p petty-sim --bench lifelog`.

    python3 xtask/bench/lifelog_baseline.py [RUNS]

Makes the same 5,000 events as the Rust bench (the same xorshift generator), then prints the
median and fastest time of one energy and one mood prediction over RUNS (default 30) runs, in
ms. The formulas are those of compat/aurora.md ("Baseline energy", "Baseline mood").
"""
import math
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

MASK = (1 << 64) - 1
EMOTIONS = ["happy", "sad", "calm", "stressed", "excited", "tired"]
POSITIVE = {"happy", "joy", "joyful", "excited", "grateful", "content", "calm", "relaxed", "proud", "hopeful"}
NEGATIVE = {"sad", "angry", "stressed", "anxious", "frustrated", "lonely", "tired", "afraid", "upset", "depressed"}
MODIFIER = {"morning": 1.1, "afternoon": 0.9, "evening": 0.7, "night": 0.5}
CLASSES = ["very_negative", "negative", "neutral", "positive", "very_positive"]
MOOD_NAMES = {"very_negative": 1, "negative": 3, "neutral": 5, "positive": 7, "very_positive": 9}


def window_events(n, at):
    state = 0x9E3779B97F4A7C15
    span = 30 * 86400
    events = []
    for i in range(n):
        state ^= (state << 13) & MASK
        state ^= state >> 7
        state ^= (state << 17) & MASK
        r = state
        t = at - timedelta(seconds=span) + timedelta(seconds=(i * span) // n)
        value = (r >> 8) % 11
        kind = r % 7
        e = {"event_time": t, "event_data": {}, "duration_minutes": None}
        if kind == 0:
            e.update(event_type="sleep", duration_minutes=300 + value * 30)
        elif kind == 1:
            e.update(event_type="exercise", duration_minutes=20 + value * 5)
        elif kind == 2:
            e.update(event_type="work", duration_minutes=60 + value * 30)
        elif kind == 3:
            e.update(event_type="social", duration_minutes=30 + value * 10)
        elif kind == 4:
            e.update(event_type="emotion", event_data={"type": EMOTIONS[value % 6]})
        elif kind == 5:
            e.update(event_type="mood", event_data={"mood_score": value, "energy_level": 10 - value,
                                                    "stress_level": (value * 3) % 11})
        else:
            e.update(event_type="meal")
        events.append(e)
    return events


def number(data, key, lo=None, hi=None):
    v = data.get(key)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if lo is not None and not (lo <= v <= hi):
            return None
        return float(v)
    return None


def duration(e):
    if e.get("duration_minutes") is not None:
        return float(e["duration_minutes"])
    h = number(e["event_data"], "duration_hours")
    if h is not None:
        return h * 60
    return number(e["event_data"], "duration_minutes")


def mood_impact(e):
    s = number(e["event_data"], "mood_score", 0, 10)
    if s is not None:
        return round((s - 5) / 5, 2)
    if e["event_type"] == "emotion":
        kind = str(e["event_data"].get("type", "")).lower()
        if kind in POSITIVE:
            return 0.7
        if kind in NEGATIVE:
            return -0.5
    return 0.0


def in_window(events, at):
    start = at - timedelta(days=30)
    return sorted((e for e in events if start <= e["event_time"] < at), key=lambda e: e["event_time"])


def predict_energy(events, at, time_of_day):
    window = in_window(events, at)
    reports = [v for v in (number(e["event_data"], "energy_level", 0, 10) for e in window) if v is not None]
    sleeps = [d / 60 for d in (duration(e) for e in window if e["event_type"] == "sleep") if d is not None]
    workouts = len([e for e in window if e["event_type"] in ("exercise", "activity")])
    per_week = workouts / (30 / 7)
    base = statistics.mean(reports) if reports else 5.0
    sleep_factor = min(statistics.mean(sleeps) / 8, 1.2) if sleeps else 1.0
    activity_factor = 1 + per_week / 10
    energy = base * MODIFIER[time_of_day] * sleep_factor * activity_factor
    energy = round(min(max(energy, 0.0), 10.0), 2)
    factors = []
    if not reports:
        factors.append("Not enough energy reports yet; using a neutral base")
    if sleeps and statistics.mean(sleeps) < 7:
        factors.append("Average sleep below 7 hours may lower energy")
    if per_week < 2:
        factors.append("Fewer than 2 workouts a week may limit energy")
    if time_of_day == "evening":
        factors.append("Energy naturally dips in the evening")
    recommendations = [] if energy >= 5 else ["Consider a short nap (20–30 min)",
                                              "Drink water and have a healthy snack", "Take a short walk outside"]
    return {"prediction": energy, "confidence": round(min(len(window) / 100, 0.95), 2), "factors": factors,
            "recommendations": recommendations,
            "explanation": {"base_energy": base, "time_of_day_modifier": MODIFIER[time_of_day],
                            "sleep_factor": sleep_factor, "activity_factor": activity_factor}}


def slope(values):
    n = len(values)
    xm = (n - 1) / 2
    ym = statistics.mean(values)
    sxy = sum((i - xm) * (y - ym) for i, y in enumerate(values))
    sxx = sum((i - xm) ** 2 for i in range(n))
    return sxy / sxx


def mood_report(data):
    s = number(data, "mood_score", 0, 10)
    if s is not None:
        return s
    name = data.get("mood")
    if isinstance(name, str):
        return MOOD_NAMES.get(name.strip().lower())
    return None


def predict_mood(events, at):
    window = in_window(events, at)
    reports = [v for v in (mood_report(e["event_data"]) for e in window) if v is not None]
    emotions = [mood_impact(e) for e in window if e["event_type"] == "emotion"]
    if reports:
        base = statistics.mean(reports)
    elif emotions:
        base = 10 * len([m for m in emotions if m > 0]) / len(emotions)
    else:
        base = 5.0
    signal = reports if reports else emotions
    trend = 0.0
    if len(signal) >= 3:
        s = slope(signal)
        trend = 1.0 if s > 0.05 else (-1.0 if s < -0.05 else 0.0)
    work = sum(duration(e) or 0 for e in window if e["event_type"] == "work")
    social = sum(duration(e) or 0 for e in window if e["event_type"] == "social")
    balance = social / (work + 1) if work > 0 else 1.0
    balance_adjustment = -1.5 if balance < 0.3 else 0.0
    stress = [v for v in (number(e["event_data"], "stress_level") for e in window) if v is not None]
    stress_adjustment = -2.0 if stress and statistics.mean(stress) > 7 else 0.0
    score = round(min(max(base + trend + balance_adjustment + stress_adjustment, 0.0), 10.0), 2)
    index = min(int(score // 2), 4)
    weights = [math.exp(-((score - c) ** 2) / 2) for c in (1, 3, 5, 7, 9)]
    total = sum(weights)
    probabilities = {CLASSES[i]: round(w / total, 3) for i, w in enumerate(weights)}
    social_events = len([e for e in window if e["event_type"] == "social"])
    factors = []
    if emotions and len([m for m in emotions if m > 0]) / len(emotions) < 0.4:
        factors.append("Few positive emotions recently")
    if balance < 0.3:
        factors.append("Work-life balance is low")
    if social_events / (30 / 7) < 2:
        factors.append("Few social interactions (under 2 a week)")
    if stress and statistics.mean(stress) > 7:
        factors.append("High stress levels")
    return {"prediction_class": CLASSES[index], "predicted_mood_score": score,
            "confidence": round(min(len(window) / 100, 0.9), 2), "class_probabilities": probabilities,
            "influencing_factors": factors}


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    at = datetime.now(timezone.utc).replace(microsecond=0)
    events = window_events(5000, at)
    e = predict_energy(events, at, "afternoon")
    m = predict_mood(events, at)
    print(f"5,000 events in the window: energy {e['prediction']:.2f}, mood {m['predicted_mood_score']:.2f} "
          f"({m['prediction_class']})")
    for _ in range(3):
        predict_energy(events, at, "afternoon")
        predict_mood(events, at)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        predict_energy(events, at, "afternoon")
        predict_mood(events, at)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    label = "baseline energy + mood, 5,000 events in the window (Python)"
    print(f"{label:<60} median {times[len(times) // 2]:>10.3} ms   fastest {times[0]:>10.3} ms")


if __name__ == "__main__":
    main()
