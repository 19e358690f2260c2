"""`python -m icflow_tools.local_sagemaker --port 8090 --s3-endpoint-url ... --events-endpoint-url ... --event-bus ...`

Runs in the foreground; prints one `ready` line with the URL once it accepts requests, and stops on Ctrl-C or
SIGTERM (running jobs end as Stopped).

`--faults` starts it with faults injected (a JSON file, or the JSON itself), e.g.
  --faults '{"faults": [{"refuse": "CreateTrainingJob", "error": "ThrottlingException", "times": 2},
                        {"fail": "spot-capacity", "name": "digits-*", "times": "always"}]}'
While it runs, `curl http://127.0.0.1:8090/_icflow/faults` lists them; POST adds more, DELETE removes them all.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from icflow_tools.local_sagemaker.algorithm import DEFAULT_ALGORITHM
from icflow_tools.local_sagemaker.faults import faults_argument
from icflow_tools.local_sagemaker.server import LocalSageMaker


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m icflow_tools.local_sagemaker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8090, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--s3-endpoint-url", help="S3 endpoint (e.g. moto's); AWS S3 when omitted")
    parser.add_argument("--events-endpoint-url", help="EventBridge endpoint (e.g. moto's); AWS when omitted")
    parser.add_argument("--event-bus", default="default", help="bus that receives the state-change events")
    parser.add_argument("--no-events", action="store_true", help="publish no events")
    parser.add_argument(
        "--logs-endpoint-url",
        help="CloudWatch Logs endpoint (e.g. moto's) that receives training jobs' log lines; job.log only when omitted",
    )
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path(".icflow") / "local-sagemaker",
        help="job folders: logs, metrics.jsonl, downloaded channels, models (default: ./.icflow/local-sagemaker)",
    )
    parser.add_argument(
        "--max-running-jobs",
        type=int,
        default=4,
        help="more running jobs than this are refused with ResourceLimitExceeded",
    )
    parser.add_argument("--algorithm", default=DEFAULT_ALGORITHM, help="module with train() and load_model()")
    parser.add_argument(
        "--faults",
        type=faults_argument,
        default=[],
        metavar="FILE_OR_JSON",
        help='faults to inject, {"faults": [...]}: a JSON file, or the JSON itself (see above)',
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    service = LocalSageMaker(
        work_dir=args.work_dir,
        port=args.port,
        s3_endpoint_url=args.s3_endpoint_url,
        events_endpoint_url=args.events_endpoint_url,
        event_bus_name=None if args.no_events else args.event_bus,
        logs_endpoint_url=args.logs_endpoint_url,
        region=args.region,
        max_running_jobs=args.max_running_jobs,
        algorithm=args.algorithm,
    )
    try:
        service.faults.add(*args.faults)
    except ValueError as error:  # what only the service model can tell: an operation or error it does not have
        print(f"python -m icflow_tools.local_sagemaker: error: argument --faults: {error}", file=sys.stderr)
        return 2
    service.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(f"local SageMaker ready on {service.url}", flush=True)
    try:
        while not done.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
