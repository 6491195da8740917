from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListBackendsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListBackendsResponse(_message.Message):
    __slots__ = ("backends",)
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    backends: _containers.RepeatedCompositeFieldContainer[Backend]
    def __init__(self, backends: _Optional[_Iterable[_Union[Backend, _Mapping]]] = ...) -> None: ...

class Backend(_message.Message):
    __slots__ = ("name", "endpoints", "degraded")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    name: str
    endpoints: _containers.RepeatedCompositeFieldContainer[Endpoint]
    degraded: bool
    def __init__(self, name: _Optional[str] = ..., endpoints: _Optional[_Iterable[_Union[Endpoint, _Mapping]]] = ..., degraded: _Optional[bool] = ...) -> None: ...

class Endpoint(_message.Message):
    __slots__ = ("url", "state", "busy", "capacity", "labels", "jobs", "failures", "error_rate", "queue_wait_ms")
    URL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BUSY_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    url: str
    state: str
    busy: int
    capacity: int
    labels: _containers.RepeatedScalarFieldContainer[str]
    jobs: int
    failures: int
    error_rate: float
    queue_wait_ms: int
    def __init__(self, url: _Optional[str] = ..., state: _Optional[str] = ..., busy: _Optional[int] = ..., capacity: _Optional[int] = ..., labels: _Optional[_Iterable[str]] = ..., jobs: _Optional[int] = ..., failures: _Optional[int] = ..., error_rate: _Optional[float] = ..., queue_wait_ms: _Optional[int] = ...) -> None: ...

class SetEndpointDrainingRequest(_message.Message):
    __slots__ = ("backend", "url", "draining")
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    backend: str
    url: str
    draining: bool
    def __init__(self, backend: _Optional[str] = ..., url: _Optional[str] = ..., draining: _Optional[bool] = ...) -> None: ...
