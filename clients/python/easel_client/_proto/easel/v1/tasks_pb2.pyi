import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from easel.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATUS_UNSPECIFIED: _ClassVar[TaskStatus]
    TASK_STATUS_PENDING: _ClassVar[TaskStatus]
    TASK_STATUS_PROCESSING: _ClassVar[TaskStatus]
    TASK_STATUS_COMPLETED: _ClassVar[TaskStatus]
    TASK_STATUS_FAILED: _ClassVar[TaskStatus]
    TASK_STATUS_CANCELED: _ClassVar[TaskStatus]
    TASK_STATUS_EXPIRED: _ClassVar[TaskStatus]

class ArtifactKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ARTIFACT_KIND_UNSPECIFIED: _ClassVar[ArtifactKind]
    ARTIFACT_KIND_OUTPUT: _ClassVar[ArtifactKind]
    ARTIFACT_KIND_THUMBNAIL: _ClassVar[ArtifactKind]
    ARTIFACT_KIND_INPUT: _ClassVar[ArtifactKind]
    ARTIFACT_KIND_PREVIEW: _ClassVar[ArtifactKind]
TASK_STATUS_UNSPECIFIED: TaskStatus
TASK_STATUS_PENDING: TaskStatus
TASK_STATUS_PROCESSING: TaskStatus
TASK_STATUS_COMPLETED: TaskStatus
TASK_STATUS_FAILED: TaskStatus
TASK_STATUS_CANCELED: TaskStatus
TASK_STATUS_EXPIRED: TaskStatus
ARTIFACT_KIND_UNSPECIFIED: ArtifactKind
ARTIFACT_KIND_OUTPUT: ArtifactKind
ARTIFACT_KIND_THUMBNAIL: ArtifactKind
ARTIFACT_KIND_INPUT: ArtifactKind
ARTIFACT_KIND_PREVIEW: ArtifactKind

class TemplateRef(_message.Message):
    __slots__ = ("code", "name", "version", "category")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    version: str
    category: str
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., category: _Optional[str] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "user_id", "platform", "type", "status", "prompt", "parameters", "template", "credit_cost", "progress", "input_image_url", "output_url", "thumbnail_url", "output_content_type", "processing_time_ms", "error_code", "error_message", "attempts", "created_at", "updated_at", "started_at", "finished_at", "webhook_url", "preview_url", "priority", "queue_position", "estimated_start_at", "expires_at", "pinned", "artifacts_expired", "outputs", "num_outputs", "batch_id", "retry_of")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    CREDIT_COST_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    INPUT_IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_URL_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_URL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_URL_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_URL_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_START_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    NUM_OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_OF_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    platform: str
    type: _common_pb2.GenerationType
    status: TaskStatus
    prompt: str
    parameters: _struct_pb2.Struct
    template: TemplateRef
    credit_cost: int
    progress: float
    input_image_url: str
    output_url: str
    thumbnail_url: str
    output_content_type: str
    processing_time_ms: int
    error_code: str
    error_message: str
    attempts: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    webhook_url: str
    preview_url: str
    priority: int
    queue_position: int
    estimated_start_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    pinned: bool
    artifacts_expired: bool
    outputs: _containers.RepeatedCompositeFieldContainer[TaskOutput]
    num_outputs: int
    batch_id: str
    retry_of: str
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., platform: _Optional[str] = ..., type: _Optional[_Union[_common_pb2.GenerationType, str]] = ..., status: _Optional[_Union[TaskStatus, str]] = ..., prompt: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., template: _Optional[_Union[TemplateRef, _Mapping]] = ..., credit_cost: _Optional[int] = ..., progress: _Optional[float] = ..., input_image_url: _Optional[str] = ..., output_url: _Optional[str] = ..., thumbnail_url: _Optional[str] = ..., output_content_type: _Optional[str] = ..., processing_time_ms: _Optional[int] = ..., error_code: _Optional[str] = ..., error_message: _Optional[str] = ..., attempts: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., webhook_url: _Optional[str] = ..., preview_url: _Optional[str] = ..., priority: _Optional[int] = ..., queue_position: _Optional[int] = ..., estimated_start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pinned: _Optional[bool] = ..., artifacts_expired: _Optional[bool] = ..., outputs: _Optional[_Iterable[_Union[TaskOutput, _Mapping]]] = ..., num_outputs: _Optional[int] = ..., batch_id: _Optional[str] = ..., retry_of: _Optional[str] = ...) -> None: ...

class TaskOutput(_message.Message):
    __slots__ = ("url", "thumbnail_url", "content_type")
    URL_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_URL_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    url: str
    thumbnail_url: str
    content_type: str
    def __init__(self, url: _Optional[str] = ..., thumbnail_url: _Optional[str] = ..., content_type: _Optional[str] = ...) -> None: ...

class CreateTaskRequest(_message.Message):
    __slots__ = ("platform", "user_id", "template_code", "parameters", "input_image", "idempotency_key", "webhook_url", "webhook_on_start", "priority", "start_within_ms", "max_wait_ms", "webhook_events", "retention_ms", "num_outputs")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_CODE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    INPUT_IMAGE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_URL_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_ON_START_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    START_WITHIN_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_EVENTS_FIELD_NUMBER: _ClassVar[int]
    RETENTION_MS_FIELD_NUMBER: _ClassVar[int]
    NUM_OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    template_code: str
    parameters: _struct_pb2.Struct
    input_image: bytes
    idempotency_key: str
    webhook_url: str
    webhook_on_start: bool
    priority: int
    start_within_ms: int
    max_wait_ms: int
    webhook_events: _containers.RepeatedScalarFieldContainer[str]
    retention_ms: int
    num_outputs: int
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., template_code: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., input_image: _Optional[bytes] = ..., idempotency_key: _Optional[str] = ..., webhook_url: _Optional[str] = ..., webhook_on_start: _Optional[bool] = ..., priority: _Optional[int] = ..., start_within_ms: _Optional[int] = ..., max_wait_ms: _Optional[int] = ..., webhook_events: _Optional[_Iterable[str]] = ..., retention_ms: _Optional[int] = ..., num_outputs: _Optional[int] = ...) -> None: ...

class CreateBatchRequest(_message.Message):
    __slots__ = ("platform", "user_id", "tasks", "idempotency_key")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    tasks: _containers.RepeatedCompositeFieldContainer[CreateTaskRequest]
    idempotency_key: str
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[CreateTaskRequest, _Mapping]]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class GetBatchRequest(_message.Message):
    __slots__ = ("platform", "user_id", "batch_id")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    batch_id: str
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., batch_id: _Optional[str] = ...) -> None: ...

class CancelBatchRequest(_message.Message):
    __slots__ = ("platform", "user_id", "batch_id")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    batch_id: str
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., batch_id: _Optional[str] = ...) -> None: ...

class Batch(_message.Message):
    __slots__ = ("id", "platform", "user_id", "task_ids", "summary", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    platform: str
    user_id: str
    task_ids: _containers.RepeatedScalarFieldContainer[str]
    summary: BatchSummary
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., platform: _Optional[str] = ..., user_id: _Optional[str] = ..., task_ids: _Optional[_Iterable[str]] = ..., summary: _Optional[_Union[BatchSummary, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BatchSummary(_message.Message):
    __slots__ = ("total", "pending", "processing", "completed", "failed", "canceled", "expired", "credits_held", "credits_captured")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELED_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    CREDITS_HELD_FIELD_NUMBER: _ClassVar[int]
    CREDITS_CAPTURED_FIELD_NUMBER: _ClassVar[int]
    total: int
    pending: int
    processing: int
    completed: int
    failed: int
    canceled: int
    expired: int
    credits_held: int
    credits_captured: int
    def __init__(self, total: _Optional[int] = ..., pending: _Optional[int] = ..., processing: _Optional[int] = ..., completed: _Optional[int] = ..., failed: _Optional[int] = ..., canceled: _Optional[int] = ..., expired: _Optional[int] = ..., credits_held: _Optional[int] = ..., credits_captured: _Optional[int] = ...) -> None: ...

class QuoteTaskResponse(_message.Message):
    __slots__ = ("credit_cost", "queue_position", "estimated_start_at", "covered", "available")
    CREDIT_COST_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_START_AT_FIELD_NUMBER: _ClassVar[int]
    COVERED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    credit_cost: int
    queue_position: int
    estimated_start_at: _timestamp_pb2.Timestamp
    covered: bool
    available: int
    def __init__(self, credit_cost: _Optional[int] = ..., queue_position: _Optional[int] = ..., estimated_start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., covered: _Optional[bool] = ..., available: _Optional[int] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("platform", "user_id", "task_id")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    task_id: str
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., task_id: _Optional[str] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("platform", "user_id", "page", "limit", "status", "page_token", "batch_id")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    page: int
    limit: int
    status: TaskStatus
    page_token: str
    batch_id: str
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., page: _Optional[int] = ..., limit: _Optional[int] = ..., status: _Optional[_Union[TaskStatus, str]] = ..., page_token: _Optional[str] = ..., batch_id: _Optional[str] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks", "total", "page", "limit", "total_pages", "next_page_token")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    total: int
    page: int
    limit: int
    total_pages: int
    next_page_token: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., total: _Optional[int] = ..., page: _Optional[int] = ..., limit: _Optional[int] = ..., total_pages: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StreamTaskUpdatesRequest(_message.Message):
    __slots__ = ("platform", "user_id", "task_id", "after_sequence", "resume_token", "batch_id")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    task_id: str
    after_sequence: int
    resume_token: str
    batch_id: str
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., task_id: _Optional[str] = ..., after_sequence: _Optional[int] = ..., resume_token: _Optional[str] = ..., batch_id: _Optional[str] = ...) -> None: ...

class TaskUpdate(_message.Message):
    __slots__ = ("sequence", "task", "resume_token", "preview_step")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_STEP_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    task: Task
    resume_token: str
    preview_step: int
    def __init__(self, sequence: _Optional[int] = ..., task: _Optional[_Union[Task, _Mapping]] = ..., resume_token: _Optional[str] = ..., preview_step: _Optional[int] = ...) -> None: ...

class CancelTaskRequest(_message.Message):
    __slots__ = ("platform", "user_id", "task_id")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    task_id: str
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., task_id: _Optional[str] = ...) -> None: ...

class PinTaskRequest(_message.Message):
    __slots__ = ("platform", "user_id", "task_id")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    task_id: str
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., task_id: _Optional[str] = ...) -> None: ...

class UnpinTaskRequest(_message.Message):
    __slots__ = ("platform", "user_id", "task_id")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    task_id: str
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., task_id: _Optional[str] = ...) -> None: ...

class FetchArtifactRequest(_message.Message):
    __slots__ = ("platform", "user_id", "task_id", "kind", "output_index")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    platform: str
    user_id: str
    task_id: str
    kind: ArtifactKind
    output_index: int
    def __init__(self, platform: _Optional[str] = ..., user_id: _Optional[str] = ..., task_id: _Optional[str] = ..., kind: _Optional[_Union[ArtifactKind, str]] = ..., output_index: _Optional[int] = ...) -> None: ...

class ArtifactChunk(_message.Message):
    __slots__ = ("content_type", "total_size", "data")
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    content_type: str
    total_size: int
    data: bytes
    def __init__(self, content_type: _Optional[str] = ..., total_size: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...
