"""Where the CPU goes under the intake load: `python -m bench.profile [SERVICE ...]` starts the
system (as `make bench` does), warms it, then records each named service (default: intake and
eligibility) with py-spy while N submissions go through,
and writes one flame graph per service into bench/profiles/ (SVG, open in a browser).
`--submissions`, `--clients`, `--rate` (py-spy samples per second) tune the run."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import msgspec

from aap.system import SERVICES
from bench import load
from bench.harness import applicant_headers, quiesce
from bench.payloads import scenario_dossier
from bench.system import running

OUT = Path(__file__).parent / "profiles"


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: make bench installs it (the project's `bench` extra)")
    return found


async def profile(services: list[str], submissions: int, clients: int, rate: int) -> list[Path]:
    dossier = scenario_dossier()
    body = msgspec.json.encode(dossier)
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aap-profile-") as tmp:
        async with running(Path(tmp), SERVICES) as (system, _, _, store, _):
            headers = applicant_headers(system, dossier.sirens)
            url = system.urls["intake"] + "/dossiers"
            await load.throughput(url, body, headers, min(300, submissions), clients)  # warm
            await quiesce(system, store)
            spies, outputs = [], []
            for name in services:
                out = OUT / f"{name}.svg"
                spies.append(
                    subprocess.Popen(
                        [
                            py_spy(),
                            "record",
                            "--pid",
                            str(system.processes[name].proc.pid),
                            "--rate",
                            str(rate),
                            "--output",
                            str(out),
                            "--nonblocking",
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
                outputs.append(out)
            await asyncio.sleep(1.0)  # py-spy attached
            result = await load.throughput(url, body, headers, submissions, clients)
            await quiesce(system, store)
            for spy in spies:
                spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            for spy in spies:
                spy.wait(30)
    print(f"{submissions} submissions at {result.rate:.0f}/s; flame graphs: " + ", ".join(map(str, outputs)))
    return outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", help=f"among {', '.join(SERVICES)} (default: intake eligibility)")
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=int, default=250)
    args = parser.parse_args()
    unknown = set(args.services) - set(SERVICES)
    if unknown:
        parser.error(f"unknown service(s): {', '.join(sorted(unknown))}")
    asyncio.run(profile(args.services or ["intake", "eligibility"], args.submissions, args.clients, args.rate))


if __name__ == "__main__":
    main()
