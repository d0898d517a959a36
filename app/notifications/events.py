"""The catalogue of notification events (requirements 2.5): who hears of each, and its default wording.

Pure data and rendering, no database. Templates use named variables in braces, `{batch_no}`; only
the variables an event declares may appear (an unknown one is refused when Admin saves a template,
so a typo never reaches a hospital as a literal `{batchno}`). Rendering never evaluates anything:
it is a plain substitution (no attribute access as `str.format` would allow).

Recipients: `roles` are internal roles told of the event; `customer` means the hospital users of
the record's own customer are told too (and only they: hospitals are never addressed by role).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("en", "ar")
_VAR = re.compile(r"\{([^{}]*)\}")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True)
class EventType:
    code: str
    label: str
    roles: tuple[str, ...]
    customer: bool
    variables: tuple[str, ...]
    subject: dict[str, str]
    body: dict[str, str]


def _e(
    code: str,
    label: str,
    roles: tuple[str, ...],
    customer: bool,
    variables: tuple[str, ...],
    en: tuple[str, str],
    ar: tuple[str, str],
) -> EventType:
    return EventType(
        code, label, roles, customer, variables, {"en": en[0], "ar": ar[0]}, {"en": en[1], "ar": ar[1]}
    )


_RES = ("reference", "customer", "product", "doses", "minutes", "window", "expires_at")
_ORDER = ("order_no", "hospital_reference", "customer", "product", "doses", "delivery_date", "batch_no")
_BATCH = ("batch_no", "product", "from_status", "actor", "note")
_SHIP = ("shipment_no", "batch_no", "customer", "eta", "delivered_at", "received_by")
_HOSPITAL_STAFF = ("Dispensing", "Logistics", "Planner", "Production", "QC Manager")

CATALOGUE: dict[str, EventType] = {
    e.code: e
    for e in (
        _e(
            "RESERVATION_HELD",
            "Reservation held",
            ("Planner",),
            True,
            _RES,
            (
                "Reservation {reference} held until {expires_at}",
                "{customer}: {doses} × {product} ({minutes} min), window {window}. Confirm it before {expires_at} or it lapses.",
            ),
            (
                "تم حجز {reference} مؤقتاً حتى {expires_at}",
                "{customer}: {doses} × {product} ({minutes} دقيقة)، النافذة {window}. يرجى التأكيد قبل {expires_at}.",
            ),
        ),
        _e(
            "RESERVATION_CONFIRMED",
            "Reservation confirmed",
            ("Planner",),
            True,
            _RES,
            (
                "Reservation {reference} confirmed",
                "{customer}: {doses} × {product} ({minutes} min), window {window}.",
            ),
            (
                "تم تأكيد الحجز {reference}",
                "{customer}: {doses} × {product} ({minutes} دقيقة)، النافذة {window}.",
            ),
        ),
        _e(
            "RESERVATION_EXPIRED",
            "Reservation expired",
            ("Planner",),
            True,
            _RES,
            (
                "Reservation {reference} expired",
                "The hold for {customer} ({doses} × {product}, window {window}) lapsed at {expires_at}; its minutes are free again.",
            ),
            (
                "انتهت صلاحية الحجز {reference}",
                "انتهى الحجز المؤقت لـ {customer} ({doses} × {product}، النافذة {window}) في {expires_at}.",
            ),
        ),
        _e(
            "ORDER_SUBMITTED",
            "Order submitted",
            ("Planner",),
            True,
            _ORDER,
            (
                "Order {order_no} waits for validation",
                "{customer}: {doses} dose(s) of {product} for {delivery_date}.",
            ),
            (
                "الطلب {order_no} بانتظار التحقق",
                "{customer}: {doses} جرعة من {product} بتاريخ {delivery_date}.",
            ),
        ),
        _e(
            "ORDER_VALIDATED",
            "Order validated",
            (),
            True,
            _ORDER,
            (
                "Order {order_no} validated",
                "Your order {hospital_reference} is accepted and will be planned into a batch.",
            ),
            ("تم قبول الطلب {order_no}", "تم قبول طلبكم {hospital_reference} وسيتم جدولته ضمن دفعة إنتاج."),
        ),
        _e(
            "ORDER_SCHEDULED",
            "Order scheduled",
            ("Production",),
            True,
            _ORDER,
            (
                "Order {order_no} scheduled in batch {batch_no}",
                "Order {hospital_reference} ({doses} × {product}) is planned into batch {batch_no} for {delivery_date}.",
            ),
            (
                "تمت جدولة الطلب {order_no} في الدفعة {batch_no}",
                "الطلب {hospital_reference} ({doses} × {product}) مجدول في الدفعة {batch_no} بتاريخ {delivery_date}.",
            ),
        ),
        _e(
            "BATCH_QC_PENDING",
            "Batch waiting for QC",
            ("QC Analyst", "QC Manager"),
            False,
            _BATCH,
            (
                "{batch_no} is waiting for QC",
                "{batch_no} ({product}): {from_status} → QC pending by {actor}.\n{note}",
            ),
            (
                "الدفعة {batch_no} بانتظار مراقبة الجودة",
                "{batch_no} ({product}): {from_status} ← بانتظار مراقبة الجودة بواسطة {actor}.\n{note}",
            ),
        ),
        _e(
            "BATCH_RELEASED",
            "Batch released",
            ("Dispensing", "Logistics", "Planner"),
            False,
            _BATCH,
            ("{batch_no} was released by the QP", "{batch_no} ({product}) was released by {actor}.\n{note}"),
            (
                "تم الإفراج عن الدفعة {batch_no}",
                "تم الإفراج عن الدفعة {batch_no} ({product}) بواسطة {actor}.\n{note}",
            ),
        ),
        _e(
            "BATCH_ON_HOLD",
            "Batch on hold",
            _HOSPITAL_STAFF,
            False,
            _BATCH,
            (
                "{batch_no} was put on hold",
                "{batch_no} ({product}): {from_status} → on hold by {actor}.\n{note}",
            ),
            (
                "تم إيقاف الدفعة {batch_no} مؤقتاً",
                "{batch_no} ({product}): {from_status} ← موقوفة بواسطة {actor}.\n{note}",
            ),
        ),
        _e(
            "BATCH_REJECTED",
            "Batch rejected",
            _HOSPITAL_STAFF,
            False,
            _BATCH,
            (
                "{batch_no} was rejected",
                "{batch_no} ({product}): {from_status} → rejected by {actor}.\n{note}",
            ),
            (
                "تم رفض الدفعة {batch_no}",
                "{batch_no} ({product}): {from_status} ← مرفوضة بواسطة {actor}.\n{note}",
            ),
        ),
        _e(
            "DISPENSING_COMPLETED",
            "Dispensing completed",
            ("Logistics", "Planner"),
            False,
            ("batch_no", "product", "doses", "actor"),
            (
                "Dispensing of {batch_no} is complete",
                "{doses} dose unit(s) of {product} dispensed from {batch_no} by {actor}.",
            ),
            (
                "اكتمل توزيع الدفعة {batch_no}",
                "تم توزيع {doses} جرعة من {product} من الدفعة {batch_no} بواسطة {actor}.",
            ),
        ),
        _e(
            "SHIPMENT_DISPATCHED",
            "Shipment dispatched",
            ("Planner",),
            True,
            _SHIP,
            (
                "Shipment {shipment_no} dispatched",
                "Shipment {shipment_no} ({batch_no}) for {customer} left the site; expected {eta}.",
            ),
            (
                "تم إرسال الشحنة {shipment_no}",
                "غادرت الشحنة {shipment_no} ({batch_no}) إلى {customer}؛ الوصول المتوقع {eta}.",
            ),
        ),
        _e(
            "SHIPMENT_DELIVERED",
            "Shipment delivered",
            ("Planner", "Logistics"),
            True,
            _SHIP,
            (
                "Shipment {shipment_no} delivered",
                "Shipment {shipment_no} ({batch_no}) was delivered to {customer} at {delivered_at}, received by {received_by}.",
            ),
            (
                "تم تسليم الشحنة {shipment_no}",
                "تم تسليم الشحنة {shipment_no} ({batch_no}) إلى {customer} في {delivered_at}، استلمها {received_by}.",
            ),
        ),
        _e(
            "QC_FAILED",
            "QC failed",
            ("QC Manager", "QP"),
            False,
            ("batch_no", "product", "summary", "outcome", "actor"),
            (
                "QC failed on {batch_no}",
                "QC of {batch_no} ({product}) failed: {summary}. The batch is {outcome}; an OOS investigation was opened.",
            ),
            (
                "فشل فحص الجودة للدفعة {batch_no}",
                "فشل فحص الجودة للدفعة {batch_no} ({product}): {summary}. الدفعة {outcome}؛ تم فتح تحقيق في النتيجة خارج المواصفات.",
            ),
        ),
        _e(
            "OOS_OPENED",
            "OOS investigation opened",
            ("QC Manager", "QP"),
            False,
            ("batch_no", "product", "test", "value", "criterion"),
            (
                "OOS opened on {batch_no}: {test}",
                "{test} = {value} is outside {criterion} on {batch_no} ({product}). An OOS investigation was opened.",
            ),
            (
                "تم فتح تحقيق خارج المواصفات للدفعة {batch_no}: {test}",
                "{test} = {value} خارج الحد {criterion} للدفعة {batch_no} ({product}).",
            ),
        ),
        _e(
            "RECALL",
            "Recall",
            ("QP", "Planner", "Logistics", "Dispensing", "QC Manager"),
            True,
            ("batch_no", "product", "reason", "actor"),
            (
                "Recall of {batch_no}",
                "{batch_no} ({product}) is recalled by {actor}: {reason}. Do not administer doses from this batch.",
            ),
            (
                "سحب الدفعة {batch_no}",
                "تم سحب الدفعة {batch_no} ({product}) بواسطة {actor}: {reason}. لا تستخدموا جرعات من هذه الدفعة.",
            ),
        ),
    )
}


def event(code: str) -> EventType | None:
    return CATALOGUE.get(code)


def unknown_variables(template: str, allowed: tuple[str, ...]) -> list[str]:
    """Variables in `template` the event does not declare (also malformed ones like `{a.b}`)."""
    found = [m.group(1) for m in _VAR.finditer(template)]
    return sorted({name for name in found if not _NAME.fullmatch(name) or name not in allowed})


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Substitute `{name}`; a declared variable the caller did not give renders as an empty string
    (and a dangling line of it is dropped), so a missing note never shows a placeholder."""

    def one(m: re.Match[str]) -> str:
        value = variables.get(m.group(1))
        return "" if value is None else str(value)

    text = _VAR.sub(one, template)
    return "\n".join(line for line in text.split("\n") if line.strip()) if "\n" in text else text
