"""EaselClient: create tasks, follow them, download results, read credits."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence, Union

import grpc
from google.protobuf import struct_pb2

# The generated stubs import each other as `easel.v1.…`; they live in _proto.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_proto"))

from easel.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402
from easel.v1 import backends_pb2, backends_pb2_grpc  # noqa: E402
from easel.v1 import credits_pb2, credits_pb2_grpc  # noqa: E402
from easel.v1 import tasks_pb2, tasks_pb2_grpc  # noqa: E402
from easel.v1 import templates_pb2, templates_pb2_grpc  # noqa: E402

Task = tasks_pb2.Task
TaskUpdate = tasks_pb2.TaskUpdate
TaskStatus = tasks_pb2.TaskStatus
ParamValue = Union[str, int, float, bool]

_TERMINAL = {
    tasks_pb2.TASK_STATUS_COMPLETED,
    tasks_pb2.TASK_STATUS_FAILED,
    tasks_pb2.TASK_STATUS_CANCELED,
    tasks_pb2.TASK_STATUS_EXPIRED,
}
_ARTIFACT_KINDS = {
    "output": tasks_pb2.ARTIFACT_KIND_OUTPUT,
    "thumbnail": tasks_pb2.ARTIFACT_KIND_THUMBNAIL,
    "input": tasks_pb2.ARTIFACT_KIND_INPUT,
    "preview": tasks_pb2.ARTIFACT_KIND_PREVIEW,
}


class EaselError(Exception):
    """A failed call: the gRPC status code name (e.g. "NOT_FOUND") and the server's message."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message


def _calls(method):
    """Turns grpc.RpcError into EaselError with the status name and the server's message."""

    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except grpc.RpcError as error:
            raise self._error(error) from None

    wrapper.__doc__ = method.__doc__
    wrapper.__name__ = method.__name__
    return wrapper


class EaselClient:
    """One connection to easeld, acting for one (platform, user).

    `target` is "unix:PATH" (relative or absolute) or "HOST:PORT"; `token` is an API key sent as
    `authorization: Bearer …` (needed on TCP where keys are enforced). `tls=True` connects with TLS
    (a server started with EASEL_TLS_CERT/EASEL_TLS_KEY), checking the server's certificate against
    `root_certificates` (PEM bytes, or a file path) or, without them, the system's roots.
    """

    def __init__(
        self,
        target: str = "unix:./easel-data/easel.sock",
        user_id: str = "",
        platform: str = "",
        token: Optional[str] = None,
        tls: bool = False,
        root_certificates: Union[bytes, str, Path, None] = None,
    ):
        if target.startswith("unix:") and not target.startswith("unix://"):
            target = "unix:" + os.path.abspath(target[len("unix:"):])
        if isinstance(root_certificates, (str, Path)):
            root_certificates = Path(root_certificates).read_bytes()
        if tls or root_certificates is not None:
            credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            self._channel = grpc.secure_channel(target, credentials)
        else:
            self._channel = grpc.insecure_channel(target)
        self._tasks = tasks_pb2_grpc.TaskServiceStub(self._channel)
        self._templates = templates_pb2_grpc.TemplateServiceStub(self._channel)
        self._credits = credits_pb2_grpc.CreditServiceStub(self._channel)
        self._backends = backends_pb2_grpc.BackendServiceStub(self._channel)
        self._admin = admin_pb2_grpc.AdminServiceStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._plaintext_tcp = not (tls or root_certificates is not None) and not target.startswith("unix:")
        self._target = target
        self.user_id = user_id
        self.platform = platform

    def __enter__(self) -> "EaselClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _error(self, error: grpc.RpcError) -> EaselError:
        """The call's status, with a hint when a plaintext client may have met a TLS port."""
        code, details = error.code().name, error.details() or ""
        if code == "UNAVAILABLE" and self._plaintext_tcp:
            details += (
                f" (if easeld at {self._target} serves TLS, connect with tls=True"
                " and root_certificates= for a private CA)"
            )
        return EaselError(code, details)

    def _owner(self) -> dict:
        return {"platform": self.platform, "user_id": self.user_id}

    @_calls
    def create(
        self,
        template: str,
        prompt: Optional[str] = None,
        params: Optional[Mapping[str, ParamValue]] = None,
        input_image: Union[bytes, str, Path, None] = None,
        idempotency_key: str = "",
        webhook_url: str = "",
        webhook_on_start: bool = False,
        priority: Optional[int] = None,
        start_within_ms: int = 0,
        max_wait_ms: int = 0,
        webhook_events: Sequence[str] = (),
        retention_ms: int = 0,
        num_outputs: int = 0,
    ) -> Task:
        """Creates a task; its credits are held until it ends. `input_image` is bytes or a file path.
        `webhook_url` receives a signed POST when the task ends (and when it starts, if asked), or
        for the `webhook_events` chosen from started, progress, preview, completed, failed,
        canceled and expired. `retention_ms` keeps the artifacts that long after the task ends
        (shorter than the platform's retention; 0: the platform's). `num_outputs` asks for that many
        images or videos (1 to the template's max_outputs; the price is per output): they are in
        the task's `outputs`, and `download(task_id, index=N)` fetches one.
        `priority` is 0 (lowest) to 9 (highest), 5 when None; above the key's maximum is refused.
        `start_within_ms` bounds the wait before the task starts (it ends EXPIRED, uncharged, past it);
        0 means the template's default. `max_wait_ms` refuses the task (FAILED_PRECONDITION) when
        its estimated wait is longer."""
        request = self._request(template, prompt, params, input_image, priority, start_within_ms, max_wait_ms)
        request.idempotency_key = idempotency_key
        request.webhook_url = webhook_url
        request.webhook_on_start = webhook_on_start
        request.webhook_events.extend(webhook_events)
        request.retention_ms = retention_ms
        request.num_outputs = num_outputs
        return self._tasks.CreateTask(request, metadata=self._metadata)

    @_calls
    def create_batch(self, tasks: Sequence[Mapping], idempotency_key: str = ""):
        """Creates up to 100 tasks at once, all or none (a Batch: id, task_ids, summary). Each item
        holds `create`'s arguments, e.g. {"template": "txt2img", "prompt": "a fox", "num_outputs": 2}.
        A refused item raises EaselError naming it ("tasks[3]: …") and nothing is created."""
        request = tasks_pb2.CreateBatchRequest(idempotency_key=idempotency_key, **self._owner())
        for item in tasks:
            item = dict(item)
            task = self._request(
                item.pop("template"), item.pop("prompt", None), item.pop("params", None), item.pop("input_image", None),
                item.pop("priority", None), item.pop("start_within_ms", 0), item.pop("max_wait_ms", 0),
            )
            task.webhook_events.extend(item.pop("webhook_events", ()))
            for name, value in item.items():
                setattr(task, name, value)  # webhook_url, retention_ms, num_outputs, …
            request.tasks.append(task)
        return self._tasks.CreateBatch(request, metadata=self._metadata)

    @_calls
    def get_batch(self, batch_id: str):
        """The batch, its tasks counted by status in `summary`, with credits held and captured."""
        return self._tasks.GetBatch(tasks_pb2.GetBatchRequest(batch_id=batch_id, **self._owner()), metadata=self._metadata)

    @_calls
    def cancel_batch(self, batch_id: str):
        """Cancels every task of the batch that has not ended."""
        return self._tasks.CancelBatch(tasks_pb2.CancelBatchRequest(batch_id=batch_id, **self._owner()), metadata=self._metadata)

    def watch_batch(self, batch_id: str) -> Iterator[TaskUpdate]:
        """The batch's tasks as they are, then each change, until every one has ended."""
        request = tasks_pb2.StreamTaskUpdatesRequest(batch_id=batch_id, **self._owner())
        try:
            yield from self._tasks.StreamTaskUpdates(request, metadata=self._metadata)
        except grpc.RpcError as error:
            raise self._error(error) from None

    @_calls
    def quote(
        self,
        template: str,
        prompt: Optional[str] = None,
        params: Optional[Mapping[str, ParamValue]] = None,
        input_image: Union[bytes, str, Path, None] = None,
        priority: Optional[int] = None,
    ):
        """What `create` would charge and where the task would stand (a QuoteTaskResponse:
        credit_cost, queue_position, estimated_start_at, covered, available); creates nothing.
        A request `create` would refuse raises the same EaselError."""
        request = self._request(template, prompt, params, input_image, priority, 0, 0)
        return self._tasks.QuoteTask(request, metadata=self._metadata)

    def _request(self, template, prompt, params, input_image, priority, start_within_ms, max_wait_ms):
        parameters = struct_pb2.Struct()
        parameters.update(dict(params or {}))
        if prompt is not None:
            parameters["prompt"] = prompt
        if isinstance(input_image, (str, Path)):
            input_image = Path(input_image).read_bytes()
        request = tasks_pb2.CreateTaskRequest(
            template_code=template,
            parameters=parameters,
            input_image=input_image or b"",
            start_within_ms=start_within_ms,
            max_wait_ms=max_wait_ms,
            **self._owner(),
        )
        if priority is not None:
            request.priority = priority
        return request

    @_calls
    def get(self, task_id: str) -> Task:
        return self._tasks.GetTask(tasks_pb2.GetTaskRequest(task_id=task_id, **self._owner()), metadata=self._metadata)

    @_calls
    def list(
        self,
        page: int = 1,
        limit: int = 10,
        status: int = tasks_pb2.TASK_STATUS_UNSPECIFIED,
        page_token: str = "",
        batch_id: str = "",
    ):
        """A page of the user's tasks (or of one batch's), newest first (a ListTasksResponse). For
        the next page, pass the response's next_page_token as page_token: as fast however deep."""
        request = tasks_pb2.ListTasksRequest(
            page=0 if page_token else page, limit=limit, status=status, page_token=page_token, batch_id=batch_id,
            **self._owner(),
        )
        return self._tasks.ListTasks(request, metadata=self._metadata)

    def watch(self, task_id: str = "", after_sequence: int = 0, resume_token: str = "") -> Iterator[TaskUpdate]:
        """Live updates: of one task until it ends, or (no task_id) of all the user's tasks.
        To resume after a disconnect, pass the last update's `sequence` as `after_sequence` (one
        task) or its `resume_token` (all tasks): what was missed is replayed first. A point older
        than the server's update-log retention window can't be replayed, nor can changes a
        server missed while cut off from its database for longer than that: the stream then
        starts afresh, from the current state (of the task, or of each unfinished task of the user)."""
        request = tasks_pb2.StreamTaskUpdatesRequest(
            task_id=task_id, after_sequence=after_sequence, resume_token=resume_token, **self._owner()
        )
        try:
            yield from self._tasks.StreamTaskUpdates(request, metadata=self._metadata)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.OUT_OF_RANGE:
                yield from self.watch(task_id)
                return
            raise self._error(error) from None

    def wait(self, task_id: str) -> Task:
        """Follows a task to its end and returns its final state."""
        last = None
        for update in self.watch(task_id):
            last = update.task
        if last is None or last.status not in _TERMINAL:
            raise EaselError("UNAVAILABLE", f"the update stream of task {task_id} ended early")
        return last

    @_calls
    def cancel(self, task_id: str) -> Task:
        return self._tasks.CancelTask(tasks_pb2.CancelTaskRequest(task_id=task_id, **self._owner()), metadata=self._metadata)

    @_calls
    def pin(self, task_id: str) -> Task:
        """Keeps the task's artifacts past its retention, until `unpin`."""
        return self._tasks.PinTask(tasks_pb2.PinTaskRequest(task_id=task_id, **self._owner()), metadata=self._metadata)

    @_calls
    def unpin(self, task_id: str) -> Task:
        """Puts the task back under its retention."""
        return self._tasks.UnpinTask(tasks_pb2.UnpinTaskRequest(task_id=task_id, **self._owner()), metadata=self._metadata)

    @_calls
    def download(self, task_id: str, kind: str = "output", index: int = 0) -> tuple[bytes, str]:
        """The bytes and content type of a task's output, thumbnail or input; `index` picks one of
        several outputs (or its thumbnail)."""
        request = tasks_pb2.FetchArtifactRequest(
            task_id=task_id, kind=_ARTIFACT_KINDS[kind], output_index=index, **self._owner()
        )
        data, content_type = bytearray(), ""
        for chunk in self._tasks.FetchArtifact(request, metadata=self._metadata):
            data += chunk.data
            content_type = chunk.content_type
        return bytes(data), content_type

    @_calls
    def balance(self) -> credits_pb2.Balance:
        return self._credits.GetBalance(credits_pb2.GetBalanceRequest(**self._owner()), metadata=self._metadata)

    @_calls
    def grant(self, amount: int, reason: str = "", idempotency_key: str = "") -> credits_pb2.Balance:
        request = credits_pb2.GrantCreditsRequest(
            amount=amount, reason=reason, idempotency_key=idempotency_key, **self._owner()
        )
        return self._credits.GrantCredits(request, metadata=self._metadata)

    @_calls
    def adjust_credits(self, amount: int, reason: str, idempotency_key: str = "") -> credits_pb2.Balance:
        """An admin correction, positive or negative; `reason` is required and kept in the ledger."""
        request = credits_pb2.AdjustCreditsRequest(
            amount=amount, reason=reason, idempotency_key=idempotency_key, **self._owner()
        )
        return self._credits.AdjustCredits(request, metadata=self._metadata)

    @_calls
    def ledger(self, page: int = 1, limit: int = 10) -> credits_pb2.ListLedgerResponse:
        """A page of the user's ledger entries, newest first."""
        request = credits_pb2.ListLedgerRequest(page=page, limit=limit, **self._owner())
        return self._credits.ListLedger(request, metadata=self._metadata)

    @_calls
    def backends(self) -> list:
        """Every backend and its servers' state (an admin key on TCP), as `easel backends` shows them."""
        return list(self._backends.ListBackends(backends_pb2.ListBackendsRequest(), metadata=self._metadata).backends)

    @_calls
    def set_endpoint_draining(self, backend: str, url: str, draining: bool = True) -> backends_pb2.Endpoint:
        """Drains a server of a fleet (it finishes its tasks and takes no new ones), or brings it back."""
        request = backends_pb2.SetEndpointDrainingRequest(backend=backend, url=url, draining=draining)
        return self._backends.SetEndpointDraining(request, metadata=self._metadata)

    # Operations (AdminService): an operator key acts on every platform, an admin key on its own.

    @_calls
    def retry(self, task_id: str = "", dry_run: bool = False, limit: int = 100, **filter_fields):
        """Retries one of this user's tasks (`task_id`), or every ended task a filter matches
        (status, platform, user_id, backend, template_code, error_code, created_after,
        created_before); a RetryTaskResponse: matched, retried (the new tasks), failures."""
        request = admin_pb2.RetryTaskRequest(dry_run=dry_run, limit=limit)
        if task_id:
            request.task_id = task_id
            request.platform, request.user_id = self.platform, self.user_id
        else:
            request.filter.CopyFrom(admin_pb2.TaskFilter(**filter_fields))
        return self._admin.RetryTask(request, metadata=self._metadata)

    @_calls
    def pause_backend(self, backend: str, endpoint: str = "", reason: str = ""):
        """Stops dispatch to a backend (or one server); its tasks wait PENDING. Stored, on every node."""
        request = admin_pb2.PauseBackendRequest(backend=backend, endpoint=endpoint, reason=reason)
        return self._admin.PauseBackend(request, metadata=self._metadata)

    @_calls
    def resume_backend(self, backend: str, endpoint: str = ""):
        request = admin_pb2.ResumeBackendRequest(backend=backend, endpoint=endpoint)
        return self._admin.ResumeBackend(request, metadata=self._metadata)

    @_calls
    def backend_pauses(self) -> list:
        return list(self._admin.ListBackendPauses(admin_pb2.ListBackendPausesRequest(), metadata=self._metadata).pauses)

    @_calls
    def webhook_deliveries(self, task_id: str = "", limit: int = 20) -> list:
        """A task of this user's deliveries, or (no task_id) the platform's failed ones, newest first."""
        request = admin_pb2.ListWebhookDeliveriesRequest(task_id=task_id, limit=limit, **self._owner())
        return list(self._admin.ListWebhookDeliveries(request, metadata=self._metadata).deliveries)

    @_calls
    def redeliver_webhook(self, delivery_id: str):
        request = admin_pb2.RedeliverWebhookRequest(delivery_id=delivery_id)
        return self._admin.RedeliverWebhook(request, metadata=self._metadata)

    @_calls
    def stats(self, platform: str = ""):
        """Counts by status and backend, the last hour per minute, wait and run percentiles, credits captured today."""
        return self._admin.GetStats(admin_pb2.GetStatsRequest(platform=platform), metadata=self._metadata)

    @_calls
    def templates(self) -> list:
        return list(self._templates.ListTemplates(templates_pb2.ListTemplatesRequest(), metadata=self._metadata).templates)
