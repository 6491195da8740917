#!/usr/bin/env python3
"""Creates a generation task, prints its updates as they arrive, and saves the image.

    python3 clients/python/example.py --server unix:./easel-data/easel.sock --user alice -o fox.png
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from easel_client import EaselClient, EaselError, TaskStatus  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="unix:./easel-data/easel.sock", help="unix:PATH or HOST:PORT")
    parser.add_argument("--token", help="API key, for TCP")
    parser.add_argument("--user", default="python-example")
    parser.add_argument("--grant", type=int, default=0, help="grant these credits first")
    parser.add_argument("--template", default="txt2img")
    parser.add_argument("--prompt", default="a paper boat on a pond, morning light")
    parser.add_argument("-o", "--output", default="easel-example.png")
    args = parser.parse_args()

    with EaselClient(args.server, user_id=args.user, token=args.token) as easel:
        try:
            if args.grant:
                easel.grant(args.grant, reason="python example")
            task = easel.create(args.template, prompt=args.prompt, params={"width": 640, "height": 384})
            print(f"created {task.id}: {task.credit_cost} credits held")
            final = None
            for update in easel.watch(task.id):
                final = update.task
                print(f"  [{update.sequence}] {TaskStatus.Name(final.status)} {final.progress:.0%}")
            if final is None or final.status != TaskStatus.Value("TASK_STATUS_COMPLETED"):
                print(f"task ended without an image: {final.error_code} {final.error_message}", file=sys.stderr)
                return 1
            data, content_type = easel.download(task.id)
            Path(args.output).write_bytes(data)
            print(f"saved {len(data)} bytes of {content_type} to {args.output}")
            print(f"balance: {easel.balance().available} credits available")
        except EaselError as error:
            print(f"easel: {error.message} ({error.code})", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
