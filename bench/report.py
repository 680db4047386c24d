"""The benchmark's one table and its targets (issue 7), from the results dict of bench.system."""

from __future__ import annotations

from bench.views import VIEWS

INTAKE_RATIO, P99_MS, REPLAY_RATIO, INTAKE_BYTES = 0.6, 50.0, 0.7, 4096
OTHERS_SHARE = 0.5  # "far less" than the intake's view, read as at most half of it


def summary(r: dict) -> dict:
    """Each target: the figure, the bound, met or not (absent parts are left out)."""
    out: dict = {}
    if "intake" in r:
        for key in ("intake_alone", "intake"):
            ratio = r[key]["ratio"]
            out[f"{key}_vs_validate_only"] = _t(ratio, f">= {INTAKE_RATIO}", ratio >= INTAKE_RATIO)
        if "end_to_end" in r:  # the latency the client sees (issue 13), at half the capacity
            p99 = r["end_to_end"]["50%"]["end_to_end_p99_ms"]
            out["end_to_end_p99_ms"] = _t(p99, f"< {P99_MS}", p99 < P99_MS)
        else:
            p99 = r["latency"]["pipeline_p99_ms"]
            out["pipeline_p99_ms"] = _t(p99, f"< {P99_MS}", p99 < P99_MS)
        out["envelope_exact"] = _t(
            r["budget_contention"]["envelope_exact"], "true", r["budget_contention"]["envelope_exact"]
        )
    for name in VIEWS:
        if "replay" in r:
            ratio = r["replay"][name]["ratio_to_raw_drain"]
            out[f"replay_{name}_vs_raw_drain"] = _t(ratio, f">= {REPLAY_RATIO}", ratio >= REPLAY_RATIO)
        if "memory" in r:
            b = r["memory"][name]["bytes_per_dossier"]
            bound = INTAKE_BYTES if name == "intake" else r["memory"]["intake"]["bytes_per_dossier"] * OTHERS_SHARE
            out[f"memory_{name}_bytes_per_dossier"] = _t(b, f"< {bound:.0f}", b < bound)
    return out


def _t(value, bound: str, met: bool) -> dict:
    return {"value": value, "target": bound, "met": bool(met)}


def _mark(targets: dict, key: str) -> str:
    t = targets.get(key)
    return "" if t is None else f"{t['target']} {'✓' if t['met'] else '✗'}"


def table(r: dict) -> str:
    t, p = r["targets"], r["parameters"]
    rows = [("measure", "value", "baseline", "ratio", "target")]
    if "intake" in r:
        lat, b = r["latency"], r["budget_contention"]
        for key, label in (("intake_alone", "intake alone"), ("intake", "intake, whole system running")):
            i = r[key]
            rows.append(
                (
                    f"{label}: submissions/s, {i['clients']} clients ({i['rounds']} × {i['submissions']})",
                    f"{i['submissions_per_second']:,.0f}",
                    f"validate-only {i['validate_only']['requests_per_second']:,.0f} req/s",
                    f"{i['ratio']:.2f}",
                    _mark(t, f"{key}_vs_validate_only"),
                )
            )
        rows += [
            (
                f"observer: submission event → assessment event at {lat['offered_rate']:.0f}/s "
                f"(achieved {lat['achieved_rate']:.0f}/s; two arrivals, not the client's wait): p50 / p99 ms",
                f"{lat['pipeline_p50_ms']} / {lat['pipeline_p99_ms']}",
                f"HTTP 201: {lat['http_p50_ms']} / {lat['http_p99_ms']} ms",
                "",
                _mark(t, "pipeline_p99_ms"),
            ),
            (
                f"budget: answers/s, {b['processes']} committee processes ({b['selections']} selections)",
                f"{b['answers_per_second']:,.1f}",
                f"{b['session_conflicts']} session conflicts",
                "",
                f"envelope exact: {'✓' if b['envelope_exact'] else '✗'}",
            ),
        ]
    if "end_to_end" in r:
        e = r["end_to_end"]
        for share in ("50%", "90%"):
            x = e[share]
            rows.append(
                (
                    f"client: POST sent → its assessment seen, at {share} of capacity "
                    f"({x['offered_rate']:.0f}/s of {e['capacity_per_second']:.0f}/s, achieved "
                    f"{x['achieved_rate']:.0f}/s): p50 / p99 ms",
                    f"{x['end_to_end_p50_ms']} / {x['end_to_end_p99_ms']}",
                    f"HTTP 201: {x['http_p50_ms']} / {x['http_p99_ms']} ms; "
                    f"seen {x['assessed_seen']} of {x['accepted']} accepted",
                    "",
                    _mark(t, "end_to_end_p99_ms") if share == "50%" else "",
                )
            )
    if "broker_restart" in r:
        b = r["broker_restart"]
        before = ", ".join(f"{k} ×{v}" for k, v in b["answers_before"].items()) or "none"
        rows.append(
            (
                f"nats-server SIGKILLed, started again after {b['outage_s']:.0f} s: "
                "to the first 201 / every service ready, s",
                f"{b['first_201_s']} / {b['all_ready_s']}",
                f"answers before the 201: {before}",
                "",
                "",
            )
        )
    if "ready" in r:  # bench/ready.py (view snapshots): each start measured
        rd = r["ready"]
        for key, value in rd.items():
            if isinstance(value, dict) and "ready_s" in value:
                rows.append(
                    (
                        f"time to ready: {rd.get('service', 'a service')} at {rd.get('events', 0):,} events, "
                        f"{key.replace('_', ' ')}, s",
                        f"{value['ready_s']}",
                        f"position {value.get('position')}",
                        "",
                        ("< 5 s ✓" if value["ready_s"] < 5 else "< 5 s ✗") if key.startswith("with_") else "",
                    )
                )
    if "wakeup" in r:
        w = r["wakeup"]
        rows.append(
            (
                f"floor: do-nothing nats-py subscriber, CPU µs/message, one at a time at {w['rate']:.0f}/s",
                f"{w['live_cpu_us_per_message']}",
                f"in bulk: {w['bulk_cpu_us_per_message']} µs",
                "",
                "",
            )
        )
    if "replay" in r:
        n = r["replay"]["events"]
        for name in VIEWS:
            v = r["replay"][name]
            rows.append(
                (
                    f"replay {n:,} events: {name} view, events/s",
                    f"{v['events_per_second']:,}",
                    f"raw drain {v['raw_drain_events_per_second']:,}/s",
                    f"{v['ratio_to_raw_drain']:.2f}",
                    _mark(t, f"replay_{name}_vs_raw_drain"),
                )
            )
    if "memory" in r:
        for name in VIEWS:
            m = r["memory"][name]
            rows.append(
                (
                    f"memory: {name} view, bytes/dossier ({m['dossiers']:,} dossiers)",
                    f"{m['bytes_per_dossier']:,}",
                    f"peak {m['peak_bytes_per_dossier']:,}",
                    "",
                    _mark(t, f"memory_{name}_bytes_per_dossier"),
                )
            )
    if "backbone" in r:
        bb = r["backbone"]
        rates, ratios = bb["rates_events_per_second"], bb["ratios"]
        for label, ours, base, key in [
            (
                "backbone: append, 1 aggregate",
                "append_single_aggregate",
                "raw_publish_sequential",
                "append_single_aggregate_vs_raw_sequential",
            ),
            (
                "backbone: append, 64 aggregates",
                "append_many_aggregates",
                "raw_publish_concurrent",
                "append_many_aggregates_vs_raw_concurrent",
            ),
        ]:
            rows.append((f"{label}, events/s", f"{rates[ours]:,}", f"raw {rates[base]:,}/s", f"{ratios[key]:.2f}", ""))
    if "connector" in r:
        c = r["connector"]
        rows.append(
            (
                f"connector: first sync of {c['dossiers']:,} DN dossiers with their PDFs (local fake DN), dossiers/s",
                f"{c['dossiers_per_second']:,}",
                f"pacing at {c['pacing_requests_per_minute']} req/min allows "
                f"{c['pacing_bound_dossiers_per_second']:,}/s ({c['graphql_requests']} requests)",
                f"{c['dossiers_per_second'] / c['pacing_bound_dossiers_per_second']:.2f}",
                f"nothing new: {c['nothing_new_requests']} requests ({c['demarches']} démarches), "
                f"{c['nothing_new_appended']} events",
            )
        )
    head = f"AAP benchmark ({'quick' if p['quick'] else 'full'} run, {p['cpus']} CPUs)\n"
    lines = ["| " + " | ".join(rows[0]) + " |", "|---|---:|---|---:|---|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows[1:]]
    return head + "\n".join(lines)
