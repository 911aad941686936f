"""The customer base: signups, changed customers (new e-mail, a move, new segment), the customers landing table."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.tooling.generator.arrays import (
    DAY_SECONDS,
    apply_blanks,
    as_text,
    blank_bits,
    choice,
    concat_pools,
    contract_table,
    day_number,
    ids,
    iso_dates,
    join,
    pick,
    timestamps,
)
from ecommerce_pipeline.tooling.generator.vocabulary import (
    AREA_CODES,
    CUSTOMER_BLANKS,
    EMAIL_DOMAINS,
    FEMALE_NAMES,
    FIRST_NAMES,
    GENDERS,
    IS_US_PLACE,
    LAST_NAMES,
    PLACE_COUNTRY,
    PLACE_WEIGHTS,
    PLACES,
    SEGMENTS,
)


@dataclass(frozen=True)
class CustomerPool:
    """Every customer the store knows, as codes; customer i has id C{i+1}."""

    first: np.ndarray
    last: np.ndarray
    email_style: np.ndarray
    email_number: np.ndarray
    email_domain: np.ndarray
    phone_number: np.ndarray  # 7-digit local number; area code comes from the place
    phone_style: np.ndarray
    birth: np.ndarray  # days since 1970-01-01
    gender: np.ndarray
    place: np.ndarray
    zip_suffix: np.ndarray
    signup: np.ndarray  # days since 1970-01-01
    segment: np.ndarray
    active: np.ndarray
    blanks: np.ndarray  # bit i set: the i-th field of CUSTOMER_BLANKS is never filled in
    loyalty: np.ndarray  # Pareto propensity to order

    def __len__(self) -> int:
        return len(self.first)


def new_customers(rng: np.random.Generator, size: int, day: date, *, initial: bool) -> CustomerPool:
    today = day_number(day)
    age_days = (np.clip(rng.normal(40, 13, size), 18, 85) * 365.25).astype(np.int64)
    # The initial base signed up over the past three years; later customers sign up on the day.
    signup = today - rng.integers(0, 3 * 365, size) if initial else np.full(size, today)
    first = rng.integers(0, len(FIRST_NAMES), size)
    return CustomerPool(
        first=first,
        last=rng.integers(0, len(LAST_NAMES), size),
        email_style=choice(rng, (0.55, 0.2, 0.15, 0.1), size),
        email_number=np.where(rng.random(size) < 0.7, rng.integers(1, 1000, size), 0),
        email_domain=choice(rng, (0.5, 0.2, 0.15, 0.1, 0.05), size),
        phone_number=rng.integers(2_000_000, 10_000_000, size),
        phone_style=choice(rng, (0.4, 0.35, 0.25), size),
        birth=today - age_days,
        gender=np.where(
            rng.random(size) < 0.03, GENDERS.index("non_binary"), (first >= len(FEMALE_NAMES)).astype(np.int64)
        ),
        place=choice(rng, PLACE_WEIGHTS, size),
        zip_suffix=rng.integers(0, 100, size),
        signup=signup,
        segment=choice(rng, (0.75, 0.2, 0.05), size),
        active=rng.random(size) < 0.97,
        blanks=blank_bits(rng, size, CUSTOMER_BLANKS),
        loyalty=np.minimum(rng.pareto(1.5, size) + 1.0, 12.0),
    )


def customer_changes(
    rng: np.random.Generator, pool: CustomerPool, day: date, lines_per_day: int
) -> tuple[CustomerPool, np.ndarray]:
    """A day's signups and a few changed customers (new e-mail, a move, a new segment)."""
    n = len(pool)
    changed = np.sort(rng.choice(n, size=min(n, 1 + rng.poisson(0.002 * n)), replace=False))
    what = rng.integers(0, 3, len(changed))
    new_email, moved, resegmented = changed[what == 0], changed[what == 1], changed[what == 2]

    style, number, domain = pool.email_style.copy(), pool.email_number.copy(), pool.email_domain.copy()
    style[new_email] = 0  # first.last123@: the new address always differs from the old one's number
    number[new_email] = rng.integers(1, 1000, len(new_email))
    domain[new_email] = rng.integers(0, len(EMAIL_DOMAINS), len(new_email))
    place, zip_suffix = pool.place.copy(), pool.zip_suffix.copy()
    place[moved] = choice(rng, PLACE_WEIGHTS, len(moved))
    zip_suffix[moved] = rng.integers(0, 100, len(moved))
    segment = pool.segment.copy()
    segment[resegmented] = rng.integers(0, len(SEGMENTS), len(resegmented))

    pool = replace(
        pool,
        email_style=style,
        email_number=number,
        email_domain=domain,
        place=place,
        zip_suffix=zip_suffix,
        segment=segment,
    )
    signups = new_customers(rng, 1 + rng.poisson(lines_per_day / 40), day, initial=False)
    shipped = np.concatenate([changed, np.arange(n, n + len(signups))])
    return concat_pools(pool, signups), shipped


def _emails(pool: CustomerPool, index: np.ndarray) -> pa.Array:
    first = pick([f.lower() for f in FIRST_NAMES], pool.first[index])
    last = pick([name.lower() for name in LAST_NAMES], pool.last[index])
    initial = pick([f[0].lower() for f in FIRST_NAMES], pool.first[index])
    number = pool.email_number[index]
    suffix = pc.if_else(pa.array(number > 0), as_text(number), "")
    local = pc.choose(
        pa.array(pool.email_style[index]),
        join(first, ".", last, suffix),
        join(first, last, suffix),
        join(initial, ".", last, suffix),
        join(first, "_", last),
    )
    return join(local, "@", pick(EMAIL_DOMAINS, pool.email_domain[index]))


def _phones(pool: CustomerPool, index: np.ndarray) -> pa.Array:
    """US numbers in three common spellings; other countries in international form with their code."""
    place = pool.place[index]
    area = as_text(AREA_CODES[place])
    local = pool.phone_number[index]
    exchange, line = as_text(local // 10_000), pc.utf8_lpad(as_text(local % 10_000), 4, "0")
    us = pc.choose(
        pa.array(pool.phone_style[index]),
        join("+1 ", area, " ", exchange, " ", line),
        join("(", area, ") ", exchange, "-", line),
        join(area, exchange, line),
    )
    codes = pick([str(phonenumbers.country_code_for_region(c)) for c in PLACE_COUNTRY], place)
    exchange_abroad = as_text(20 + place % 60)
    # North American (+1) and Mexican numbers have ten digits: a three-digit area code.
    ten_digits = pc.or_(pc.equal(codes, "52"), pc.equal(codes, "1"))
    exchange_abroad = pc.if_else(ten_digits, join("5", exchange_abroad), exchange_abroad)
    abroad = join("+", codes, " ", exchange_abroad, " ", exchange, " ", line)
    return pc.if_else(pa.array(IS_US_PLACE[place]), us, abroad)


def customers_table(rng: np.random.Generator, pool: CustomerPool, index: np.ndarray, day: date) -> pa.Table:
    place = pool.place[index]
    postal = pick([p[3] for p in PLACES], place)
    columns = {
        "customer_id": ids("C", index + 1, 6),
        "email": _emails(pool, index),
        "first_name": pick(FIRST_NAMES, pool.first[index]),
        "last_name": pick(LAST_NAMES, pool.last[index]),
        "phone": _phones(pool, index),
        "date_of_birth": iso_dates(pool.birth[index]),
        "gender": pick(GENDERS, pool.gender[index]),
        "city": pick([p[0] for p in PLACES], place),
        "state": pick([p[1] for p in PLACES], place),
        "country": pick(PLACE_COUNTRY, place),
        "postal_code": pc.if_else(
            pa.array(IS_US_PLACE[place]), join(postal, pc.utf8_lpad(as_text(pool.zip_suffix[index]), 2, "0")), postal
        ),
        "signup_date": iso_dates(pool.signup[index]),
        "customer_segment": pick(SEGMENTS, pool.segment[index]),
        "is_active": pick(("false", "true"), pool.active[index].astype(np.int64)),
        "updated_at": timestamps(day, rng.integers(0, DAY_SECONDS, len(index))),
    }
    apply_blanks(columns, pool.blanks[index], CUSTOMER_BLANKS)
    return contract_table("customers", columns)
