"""Activities in MBq or mCi per person (issue 13 item 8): exact conversion both ways, the `activity`
filter in the signed-in user's unit, the My preferences page, and an order typed in mCi stored in MBq."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.domain import DomainError
from app.masterdata import preferences
from app.masterdata.domain.units import format_activity, format_activity_both, mbq_to_mci, mci_to_mbq
from tests.conftest import login_page

# Activities as people type them: up to 4 decimals, from a trace to 1,000 GBq.
typed = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000000"), places=4, allow_nan=False)


@given(typed)
def test_mbq_to_mci_and_back_returns_the_same_number(mbq):
    assert mci_to_mbq(mbq_to_mci(mbq)) == Fraction(mbq)


@given(typed)
def test_mci_typed_is_stored_as_exact_mbq_and_reads_back_the_same(mci):
    stored = preferences.parse_activity(str(mci), "mCi")
    assert stored == mci * 37  # exact decimal arithmetic, nothing rounded
    assert mbq_to_mci(stored) == Fraction(mci)  # shown again in mCi: the number that was typed


@given(st.integers(min_value=1, max_value=10_000).map(lambda n: Decimal(n) / 10))
def test_one_decimal_of_mci_always_fits_the_orders_tenth_of_a_mbq(mci):
    mbq = preferences.parse_activity(f"{mci}", "mCi", places=1)
    assert mbq == mbq.quantize(Decimal("0.1")) and mbq / 37 == mci


def test_a_value_the_column_cannot_hold_is_refused_not_rounded():
    with pytest.raises(DomainError) as err:
        preferences.parse_activity("10.25", "mCi", places=1)  # 379.25 MBq
    assert err.value.code == "TOO_PRECISE" and "379.25 MBq" in err.value.user_message


@pytest.mark.parametrize("text", ["", "abc", "-5", "0", "1,5", "NaN", "Infinity"])
def test_activity_input_that_is_not_a_positive_number_is_refused(text):
    with pytest.raises(DomainError):
        preferences.parse_activity(text, "MBq")


def test_filter_formats_in_the_given_unit_and_never_shows_a_false_zero():
    assert preferences.activity_filter(370, "MBq") == "370 MBq"
    assert preferences.activity_filter(370, "mCi") == "10.00 mCi"
    assert preferences.activity_filter(18_500, "MBq") == "18.50 GBq"
    assert preferences.activity_filter(None, "mCi") == "—"
    assert format_activity(Decimal("388.5"), "mCi") == "10.50 mCi"


@pytest.fixture
def hospital_prefers_mci(app_ctx):
    from app.core.extensions import db
    from app.masterdata.models import UserPreference

    user = db.session.execute(db.text("select id from ab_user where username = 'hospital'")).scalar_one()
    preferences.save_activity_unit(user, "mCi")
    yield user
    db.session.query(UserPreference).filter_by(user_id=user).delete()
    db.session.commit()


def test_preferences_page_saves_the_unit_and_the_filter_follows(client, app_ctx):
    login_page(client, "planner")
    page = client.get("/preferences/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Activity unit" in text and "10.00 mCi" in text  # the examples
    refused = client.post("/preferences/", data={"activity_unit": "Ci"})
    assert refused.status_code == 200 and "Choose MBq or mCi" in refused.get_data(as_text=True)
    done = client.post("/preferences/", data={"activity_unit": "mCi"})
    assert done.status_code == 302
    assert 'value="mCi" id="unit-mci" checked' in client.get("/preferences/").get_data(as_text=True)
    with client.application.test_request_context("/"):
        from flask import g
        from flask_login import login_user

        from app.core.extensions import db

        planner = client.application.appbuilder.sm.find_user(username="planner")
        login_user(planner)
        assert preferences.activity_filter(370) == "10.00 mCi"
        g.pop("rp_activity_unit", None)
        preferences.save_activity_unit(planner.id, "MBq")
        assert preferences.activity_filter(370) == "370 MBq"
        db.session.rollback()


def test_preferences_page_needs_sign_in(client):
    assert client.get("/preferences/").status_code in (302, 401)


def test_hospital_orders_in_mci_and_the_order_is_stored_in_exact_mbq(client, hospital_prefers_mci):
    from app.core.extensions import db
    from app.orders.models import Order
    from tests import order_factories as of

    window = of.bookable_window(total=600, minutes=6, start=dt.time(20, 0))
    hold = of.hold(window, 1, now=dt.datetime.now(dt.UTC))
    login_page(client, "hospital")
    form_page = client.get(f"/orders/new?reservation_id={hold.id}").get_data(as_text=True)
    assert "Activity (mCi" in form_page and 'name="activity_unit" value="mCi"' in form_page
    form = {
        "reservation_id": str(hold.id),
        "hospital_order_reference": "KF-MCI-1",
        "activity_unit": "mCi",
        "mbq": "10.5",
        "calibration_local": "2030-06-03T21:00",
        "line_reference": "",
    }
    done = client.post("/orders/new", data=form)
    assert done.status_code == 302, done.get_data(as_text=True)[:500]
    order = db.session.query(Order).filter_by(hospital_order_reference="KF-MCI-1").one()
    assert [line.requested_activity_mbq for line in order.lines] == [Decimal("388.5")]  # 10.5 x 37
    journey = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "10.50 mCi" in journey  # read back in the hospital's unit, no drift


def test_dispensing_screen_defaults_to_the_preferred_unit_and_takes_the_reading_in_it(client, app_ctx):
    from app.core.extensions import db
    from app.dispensing.models import DoseUnit
    from app.masterdata.models import UserPreference
    from tests.dispensing_factories import customer, order_into, released_batch

    disp = client.application.appbuilder.sm.find_user(username="disp")
    preferences.save_activity_unit(disp.id, "mCi")
    try:
        batch = released_batch()
        order_into(batch, [370], cust=customer(), ref="KFSH-MCI-1")
        login_page(client, "disp")
        assert client.post(f"/dispensing/batches/{batch.id}/plan", data={}).status_code == 302
        page = client.get(f"/dispensing/batches/{batch.id}").get_data(as_text=True)
        assert 'btn-primary" href="?unit=mCi"' in page and "10.00 mCi" in page  # 370 MBq ordered
        dose = db.session.query(DoseUnit).filter_by(batch_id=batch.id).one()
        url = f"/dispensing/doses/{dose.id}/dispense"
        refused = client.post(url, data={"unit": "mCi", "reading": "10.25"})  # 379.25 MBq: not in 0.1 MBq
        assert refused.status_code == 422 and "379.25 MBq" in refused.get_data(as_text=True)
        note = "Drawn early for the test; reading typed in mCi"  # the draw is worked back to now
        done = client.post(url, data={"unit": "mCi", "reading": "10.3", "note": note})
        assert done.status_code == 302 and "unit=mCi" in done.headers["Location"]
        db.session.expire_all()
        assert db.session.get(DoseUnit, dose.id).measured_activity_mbq == Decimal("381.1")  # 10.3 x 37
        # the toggle still switches for this page
        assert "370 MBq" in client.get(f"/dispensing/batches/{batch.id}?unit=MBq").get_data(as_text=True)
    finally:
        db.session.rollback()
        db.session.query(UserPreference).filter_by(user_id=disp.id).delete()
        db.session.commit()


# --- both units, for documents (labels, transport document, batch log, CoA) ------------------------
@pytest.mark.parametrize(
    ("mbq", "text"),
    [
        (370, "370 MBq (10.00 mCi)"),
        (Decimal("388.5"), "389 MBq (10.50 mCi)"),
        (100, "100 MBq (2.70 mCi)"),
        (Decimal("18.5"), "18.5 MBq (0.50 mCi)"),
        (10_000, "10,000 MBq (270.3 mCi)"),
        (18_500, "18.50 GBq (500.0 mCi)"),
        (0.855, "0.86 MBq (0.02 mCi)"),
    ],
)
def test_both_units_mbq_first_mci_in_brackets_gbq_for_large_values(mbq, text):
    assert format_activity_both(mbq) == text
    assert preferences.activity_both_filter(mbq) == text


def test_both_units_filter_shows_no_false_zero_and_ignores_the_readers_unit(app_ctx):
    from flask import g

    assert preferences.activity_both_filter(None) == "—" and preferences.activity_both_filter("") == "—"
    g.rp_activity_unit = "mCi"  # the reader prefers mCi: a document still leads with MBq
    try:
        assert preferences.activity_both_filter(370) == "370 MBq (10.00 mCi)"
        assert preferences.activity_filter(370) == "10.00 mCi"
    finally:
        g.pop("rp_activity_unit", None)


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99.99"), places=2))
def test_both_units_show_a_typed_mci_back_exactly(mci):
    """An order typed as x.xx mCi (stored x.xx * 37 MBq) shows that very mCi in brackets: no drift."""
    mbq = preferences.parse_activity(str(mci), "mCi")
    both = format_activity_both(mbq)
    assert both == f"{format_activity(mbq, 'MBq')} ({mci:.2f} mCi)"


@given(typed)
def test_both_units_are_each_units_own_text_of_the_same_value(mbq):
    assert format_activity_both(mbq) == f"{format_activity(mbq, 'MBq')} ({format_activity(mbq, 'mCi')})"


# --- activity inputs filled again (the half-life calculator's readings) -----------------------------
def test_activity_inputs_in_mci_only_when_every_value_is_exact_there():
    assert preferences.activity_inputs(["381.1", "999.999"], "mCi") == (["10.3", "27.027"], "mCi")
    assert preferences.activity_inputs(["1000", "381.1"], "mCi") == (["1000", "381.1"], "MBq")  # 27.027027...
    assert preferences.activity_inputs(["1000", "827.425"], "MBq") == (["1000", "827.425"], "MBq")
    assert preferences.activity_inputs([None, None], "mCi") == (["", ""], "mCi")
    assert preferences.activity_inputs([None, ""], "MBq") == (["", ""], "MBq")
    assert preferences.activity_inputs(["370.0"], "mCi") == (["10"], "mCi")


@given(typed)
def test_activity_inputs_give_back_what_was_typed_in_mci(mci):
    stored = f"{preferences.parse_activity(str(mci), 'mCi'):f}"
    assert preferences.activity_inputs([stored], "mCi") == ([f"{mci.normalize():f}"], "mCi")


@given(typed)
def test_activity_inputs_typed_again_store_the_very_same_mbq(mbq):
    """Whatever unit the inputs are filled in, saving them unchanged stores the same MBq: no drift."""
    (text,), unit = preferences.activity_inputs([f"{mbq:f}"], "mCi")
    assert preferences.parse_activity(text, unit) == mbq
