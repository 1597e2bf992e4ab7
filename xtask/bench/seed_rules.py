#!/usr/bin/env python3
"""The Petty seed's rule-based interpreter written the way its Python Lambda was (plain
Python, statistics.pstdev, a list of dicts), timed over a 144-point day: the same-run baseline
for `cargo bench -p petty-sim --bench analysis`.

    python3 xtask/bench/seed_rules.py [RUNS]

Prints the median and fastest time of 1,000 calls, over RUNS (default 30) runs, in ms.
"""
import math
import random
import statistics
import sys
import time


def deep_sleep(points, std_max=3.0):
    rest = [p for p in points if p["activity_level"] == 0]
    if len(rest) < 4:
        return None
    hrs = [p["heart_rate"] for p in rest]
    std = statistics.pstdev(hrs)
    mean = statistics.mean(hrs)
    if std < std_max and 40 <= mean <= 65:
        return {"timestamp": rest[0]["timestamp"], "behavior": "Deep Sleep", "confidence": 0.9,
                "metadata": {"heart_rate_mean": f"{mean:.1f}", "heart_rate_std": f"{std:.2f}",
                             "duration_points": str(len(rest))}}
    return None


def anxious_pacing(points, radius_max=0.0007):
    active = [p for p in points if p["activity_level"] == 1 and p.get("location")]
    if len(active) < 6:
        return None
    coords = [p["location"]["coordinates"] for p in active]
    cx = sum(c[0] for c in coords) / len(coords)
    cy = sum(c[1] for c in coords) / len(coords)
    radius = max(math.sqrt((c[0] - cx) ** 2 + (c[1] - cy) ** 2) for c in coords)
    mean = statistics.mean(p["heart_rate"] for p in active)
    if radius < radius_max and 70 <= mean <= 110:
        return {"timestamp": active[0]["timestamp"], "behavior": "Anxious Pacing", "confidence": 0.75,
                "metadata": {"movement_radius": f"{radius:.6f}", "heart_rate_mean": f"{mean:.1f}",
                             "activity_points": str(len(active))}}
    return None


def playing_fetch(points, distance_min=0.001):
    ordered = sorted(points, key=lambda p: p["timestamp"])
    cycles = 0
    for i, p in enumerate(ordered):
        if p["activity_level"] != 2 or not p.get("location"):
            continue
        a = p["location"]["coordinates"]
        for q in ordered[i + 1:]:
            if q["activity_level"] == 0 and q.get("location"):
                b = q["location"]["coordinates"]
                if math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) > distance_min:
                    cycles += 1
                    break
    if cycles >= 2:
        return {"timestamp": ordered[0]["timestamp"], "behavior": "Playing Fetch", "confidence": 0.8,
                "metadata": {"fetch_cycles": str(cycles), "data_points": str(len(ordered))}}
    return None


def interpret(points):
    points = points[:1000]
    events = [e for e in (deep_sleep(points), anxious_pacing(points), playing_fetch(points)) if e]
    return events[:50]


def day_points():
    rng = random.Random(11)
    points = []
    for i in range(144):
        hour = i / 6
        level = 0 if hour < 7 or hour > 22 else rng.choice([0, 0, 1, 1, 2])
        points.append({
            "timestamp": f"2026-11-21T{int(hour):02d}:{(i % 6) * 10:02d}:00Z",
            "heart_rate": rng.randint(55, 65) if level == 0 else rng.randint(80, 140),
            "activity_level": level,
            "location": {"type": "Point", "coordinates": [4.89 + rng.uniform(-0.002, 0.002),
                                                          52.37 + rng.uniform(-0.002, 0.002)]},
        })
    return points


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    points = day_points()
    for _ in range(3):
        interpret(points)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        for _ in range(1000):
            interpret(points)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"python seed rules over a 144-point day (x1000 calls, total) median {times[len(times) // 2]:.3f} ms"
          f"   fastest {times[0]:.3f} ms")


if __name__ == "__main__":
    main()
