"""Celery's side of the pipeline reference: a task that does nothing, acknowledged after it runs
(acks_late), its result stored in Redis for the caller to collect."""
import os

from celery import Celery

app = Celery("noop", broker=os.environ["REDIS_URL"], backend=os.environ["REDIS_URL"])
app.conf.update(task_acks_late=True, worker_prefetch_multiplier=4, result_expires=600)


@app.task
def noop(index):
    return index
