from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class GenerationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GENERATION_TYPE_UNSPECIFIED: _ClassVar[GenerationType]
    GENERATION_TYPE_IMAGE: _ClassVar[GenerationType]
    GENERATION_TYPE_VIDEO: _ClassVar[GenerationType]
GENERATION_TYPE_UNSPECIFIED: GenerationType
GENERATION_TYPE_IMAGE: GenerationType
GENERATION_TYPE_VIDEO: GenerationType
