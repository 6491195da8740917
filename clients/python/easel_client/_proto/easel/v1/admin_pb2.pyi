import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from easel.v1 import tasks_pb2 as _tasks_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskFilter(_message.Message):
    __slots__ = ("status", "platform", "user_id", "backend", "template_code", "error_code", "created_after", "created_before")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    status: _tasks_pb2.TaskStatus
    platform: str
    user_id: str
    backend: str
    template_code: str
    error_code: str
    created_after: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    def __init__(self, status: _Optional[_Union[_tasks_pb2.TaskStatus, str]] = ..., platform: _Optional[str] = ..., user_id: _Optional[str] = ..., backend: _Optional[str] = ..., template_code: _Optional[str] = ..., error_code: _Optional[str] = ..., created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RetryTaskRequest(_message.Message):
    __slots__ = ("platform", "user_id", "task_id", "filter", "dry_run", "limit")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    task_id: str
    filter: TaskFilter
    dry_run: bool
    limit: int
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., task_id: _Optional[str] = ..., filter: _Optional[_Union[TaskFilter, _Mapping]] = ..., dry_run: _Optional[bool] = ..., limit: _Optional[int] = ...) -> None: ...

class RetryTaskResponse(_message.Message):
    __slots__ = ("matched", "retried", "failures")
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    RETRIED_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    matched: int
    retried: _containers.RepeatedCompositeFieldContainer[_tasks_pb2.Task]
    failures: _containers.RepeatedCompositeFieldContainer[RetryFailure]
    def __init__(self, matched: _Optional[int] = ..., retried: _Optional[_Iterable[_Union[_tasks_pb2.Task, _Mapping]]] = ..., failures: _Optional[_Iterable[_Union[RetryFailure, _Mapping]]] = ...) -> None: ...

class RetryFailure(_message.Message):
    __slots__ = ("task_id", "message")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    message: str
    def __init__(self, task_id: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class PauseBackendRequest(_message.Message):
    __slots__ = ("backend", "endpoint", "reason")
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    backend: str
    endpoint: str
    reason: str
    def __init__(self, backend: _Optional[str] = ..., endpoint: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ResumeBackendRequest(_message.Message):
    __slots__ = ("backend", "endpoint")
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    backend: str
    endpoint: str
    def __init__(self, backend: _Optional[str] = ..., endpoint: _Optional[str] = ...) -> None: ...

class BackendPause(_message.Message):
    __slots__ = ("backend", "endpoint", "paused", "reason", "paused_at")
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PAUSED_AT_FIELD_NUMBER: _ClassVar[int]
    backend: str
    endpoint: str
    paused: bool
    reason: str
    paused_at: _timestamp_pb2.Timestamp
    def __init__(self, backend: _Optional[str] = ..., endpoint: _Optional[str] = ..., paused: _Optional[bool] = ..., reason: _Optional[str] = ..., paused_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListBackendPausesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListBackendPausesResponse(_message.Message):
    __slots__ = ("pauses",)
    PAUSES_FIELD_NUMBER: _ClassVar[int]
    pauses: _containers.RepeatedCompositeFieldContainer[BackendPause]
    def __init__(self, pauses: _Optional[_Iterable[_Union[BackendPause, _Mapping]]] = ...) -> None: ...

class ListWebhookDeliveriesRequest(_message.Message):
    __slots__ = ("platform", "user_id", "task_id", "limit")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    task_id: str
    limit: int
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., task_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListWebhookDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[WebhookDelivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[WebhookDelivery, _Mapping]]] = ...) -> None: ...

class RedeliverWebhookRequest(_message.Message):
    __slots__ = ("delivery_id",)
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    def __init__(self, delivery_id: _Optional[str] = ...) -> None: ...

class WebhookDelivery(_message.Message):
    __slots__ = ("id", "task_id", "event", "url", "state", "attempts", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    task_id: str
    event: str
    url: str
    state: str
    attempts: _containers.RepeatedCompositeFieldContainer[WebhookAttempt]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., task_id: _Optional[str] = ..., event: _Optional[str] = ..., url: _Optional[str] = ..., state: _Optional[str] = ..., attempts: _Optional[_Iterable[_Union[WebhookAttempt, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WebhookAttempt(_message.Message):
    __slots__ = ("status_code", "error", "duration_ms", "at")
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    status_code: int
    error: str
    duration_ms: int
    at: _timestamp_pb2.Timestamp
    def __init__(self, status_code: _Optional[int] = ..., error: _Optional[str] = ..., duration_ms: _Optional[int] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ("platform",)
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    platform: str
    def __init__(self, platform: _Optional[str] = ...) -> None: ...

class Stats(_message.Message):
    __slots__ = ("counts", "minutes", "queue_wait_p50_ms", "queue_wait_p95_ms", "run_time_p50_ms", "run_time_p95_ms", "captured_today")
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    QUEUE_WAIT_P50_MS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_WAIT_P95_MS_FIELD_NUMBER: _ClassVar[int]
    RUN_TIME_P50_MS_FIELD_NUMBER: _ClassVar[int]
    RUN_TIME_P95_MS_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_TODAY_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.RepeatedCompositeFieldContainer[StatusCount]
    minutes: _containers.RepeatedCompositeFieldContainer[MinuteCount]
    queue_wait_p50_ms: int
    queue_wait_p95_ms: int
    run_time_p50_ms: int
    run_time_p95_ms: int
    captured_today: _containers.RepeatedCompositeFieldContainer[PlatformCredits]
    def __init__(self, counts: _Optional[_Iterable[_Union[StatusCount, _Mapping]]] = ..., minutes: _Optional[_Iterable[_Union[MinuteCount, _Mapping]]] = ..., queue_wait_p50_ms: _Optional[int] = ..., queue_wait_p95_ms: _Optional[int] = ..., run_time_p50_ms: _Optional[int] = ..., run_time_p95_ms: _Optional[int] = ..., captured_today: _Optional[_Iterable[_Union[PlatformCredits, _Mapping]]] = ...) -> None: ...

class StatusCount(_message.Message):
    __slots__ = ("status", "backend", "count")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    status: _tasks_pb2.TaskStatus
    backend: str
    count: int
    def __init__(self, status: _Optional[_Union[_tasks_pb2.TaskStatus, str]] = ..., backend: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class MinuteCount(_message.Message):
    __slots__ = ("minute", "completed", "failed")
    MINUTE_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    minute: _timestamp_pb2.Timestamp
    completed: int
    failed: int
    def __init__(self, minute: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed: _Optional[int] = ..., failed: _Optional[int] = ...) -> None: ...

class PlatformCredits(_message.Message):
    __slots__ = ("platform", "captured")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_FIELD_NUMBER: _ClassVar[int]
    platform: str
    captured: int
    def __init__(self, platform: _Optional[str] = ..., captured: _Optional[int] = ...) -> None: ...
