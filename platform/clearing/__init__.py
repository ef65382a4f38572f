"""The clearing port: the record of every cross-tenant value movement (``records``) and
the SPU it is valued in (``spu``). Areas that move value between tenants write here;
settlement reads it."""

from .records import ClearingKind, ClearingRecord, new_record, record
from .spu import MICRO, format_spu, install_spu_rates, spu_rate, value_of

__all__ = [
    "MICRO",
    "ClearingKind",
    "ClearingRecord",
    "format_spu",
    "install_spu_rates",
    "new_record",
    "record",
    "spu_rate",
    "value_of",
]
