"""The demo API shipped with simulacra: ten small, deterministic tools for function-calling experiments.

Unit and currency conversion (at fixed demo rates), date arithmetic, a small read-only inventory, bill
splitting and shipping costs. Nothing here touches the network, the clock or any state, so the same call
always gives the same answer. The held-out requests written by hand for it are in
``simulacra/text/calls/data/demo_heldout.jsonl`` (:func:`heldout_path`).

>>> convert_units(10, "kg", "lb")["value"]
22.046226
>>> add_days(dt.date(2025, 2, 27), 2)["date"]
'2025-03-01'
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

Unit = Literal["mm", "cm", "m", "km", "in", "ft", "yd", "mi", "mg", "g", "kg", "oz", "lb", "ml", "l", "gal", "cup",
               "c", "f", "k"]
Currency = Literal["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "INR", "SEK"]
Category = Literal["laptops", "monitors", "accessories", "furniture"]
Country = Literal["US", "CA", "MX", "GB", "DE", "FR", "ES", "IT", "NL", "JP", "AU", "IN"]

# unit -> (dimension, factor to the base unit: metre, gram, litre)
_UNITS = {
    "mm": ("length", 0.001), "cm": ("length", 0.01), "m": ("length", 1.0), "km": ("length", 1000.0),
    "in": ("length", 0.0254), "ft": ("length", 0.3048), "yd": ("length", 0.9144), "mi": ("length", 1609.344),
    "mg": ("mass", 0.001), "g": ("mass", 1.0), "kg": ("mass", 1000.0), "oz": ("mass", 28.349523125),
    "lb": ("mass", 453.59237), "ml": ("volume", 0.001), "l": ("volume", 1.0), "gal": ("volume", 3.785411784),
    "cup": ("volume", 0.2365882365),
}
# demo exchange rates: units of the currency per US dollar (fixed, not market data)
_RATES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.0, "CHF": 0.88, "CAD": 1.36, "AUD": 1.52, "INR": 83.2,
          "SEK": 10.5}
_STOCK = {
    "LAP-101": ("Aero 14 laptop", "laptops", 12, 1099.0), "LAP-102": ("Aero 16 laptop", "laptops", 0, 1499.0),
    "LAP-205": ("Forge 15 workstation laptop", "laptops", 4, 2199.0),
    "MON-240": ('24" office monitor', "monitors", 31, 179.0), "MON-270": ('27" 4K monitor', "monitors", 7, 429.0),
    "MON-340": ('34" ultrawide monitor', "monitors", 0, 649.0),
    "ACC-010": ("USB-C hub", "accessories", 85, 39.0), "ACC-022": ("wireless mouse", "accessories", 140, 24.0),
    "ACC-031": ("mechanical keyboard", "accessories", 23, 89.0), "ACC-047": ("laptop stand", "accessories", 0, 45.0),
    "FUR-500": ("standing desk", "furniture", 6, 549.0), "FUR-520": ("ergonomic chair", "furniture", 15, 389.0),
}
_ZONES = {"US": 1, "CA": 1, "MX": 1, "GB": 2, "DE": 2, "FR": 2, "ES": 2, "IT": 2, "NL": 2, "JP": 3, "AU": 3, "IN": 3}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: words people use for the enumerated values (the corpus builder phrases values with them, and the
#: grounding check accepts them)
SURFACE_FORMS: dict[str, list[str]] = {
    "mm": ["millimetres", "millimeters", "mm"], "cm": ["centimetres", "centimeters", "cm"],
    "m": ["metres", "meters", "m"], "km": ["kilometres", "kilometers", "km", "kms"],
    "in": ["inches", "inch", "in"], "ft": ["feet", "foot", "ft"], "yd": ["yards", "yard", "yd"],
    "mi": ["miles", "mile", "mi"], "mg": ["milligrams", "mg"], "g": ["grams", "gram", "g"],
    "kg": ["kilograms", "kilos", "kilo", "kg", "kgs"], "oz": ["ounces", "ounce", "oz"],
    "lb": ["pounds", "pound", "lbs", "lb"], "ml": ["millilitres", "milliliters", "ml"],
    "l": ["litres", "liters", "litre", "liter", "l"], "gal": ["gallons", "gallon", "gal"], "cup": ["cups", "cup"],
    "c": ["degrees celsius", "celsius", "°c", "c"], "f": ["degrees fahrenheit", "fahrenheit", "°f", "f"],
    "k": ["kelvin", "k"],
    "USD": ["US dollars", "dollars", "USD", "$", "bucks"], "EUR": ["euros", "euro", "EUR", "€"],
    "GBP": ["pounds sterling", "British pounds", "GBP", "£", "quid"], "JPY": ["Japanese yen", "yen", "JPY", "¥"],
    "CHF": ["Swiss francs", "francs", "CHF"], "CAD": ["Canadian dollars", "CAD", "C$"],
    "AUD": ["Australian dollars", "AUD", "A$"], "INR": ["Indian rupees", "rupees", "INR", "₹"],
    "SEK": ["Swedish kronor", "kronor", "krona", "SEK"],
    "US": ["the United States", "the US", "the USA", "America"], "CA": ["Canada"], "MX": ["Mexico"],
    "GB": ["the United Kingdom", "the UK", "Britain", "England"], "DE": ["Germany"], "FR": ["France"],
    "ES": ["Spain"], "IT": ["Italy"], "NL": ["the Netherlands", "Holland"], "JP": ["Japan"], "AU": ["Australia"],
    "IN": ["India"], "laptops": ["laptops", "notebooks"], "monitors": ["monitors", "screens", "displays"],
    "accessories": ["accessories", "peripherals"], "furniture": ["furniture", "office furniture"],
    "express=true": ["by express", "express", "with express delivery", "the fast way"],
    "express=false": ["standard shipping", "by standard post", "no express needed", "the cheap way"],
    "in_stock_only=true": ["in stock only", "only the ones in stock", "just what's available", "only in-stock ones"],
    "in_stock_only=false": ["including sold-out ones", "out-of-stock ones too", "even the sold out ones"],
}

#: the values a request may name for a parameter (the corpus builder draws from them)
VALUE_POOLS: dict[str, list[object]] = {"sku": list(_STOCK)}

#: values people ask for that the API does not serve (requests with them need no call)
UNSUPPORTED_VALUES: dict[str, list[str]] = {
    "from_currency": ["bitcoin", "Brazilian reais", "South African rand", "Korean won"],
    "to_currency": ["bitcoin", "Mexican pesos", "Turkish lira", "Polish zloty"],
    "destination": ["Brazil", "Argentina", "South Africa", "Nigeria", "Antarctica"],
    "to_unit": ["light years", "nautical miles", "stone", "hectares"],
    "category": ["phones", "printers", "software licences", "groceries"],
    "sku": ["PHN-900", "TAB-300", "PRN-120"],
}

#: request templates per function ({parameter} is replaced by the value as people write it); a template is
#: used for a call that gives exactly its parameters
REQUEST_TEMPLATES: dict[str, list[str]] = {
    "convert_units": [
        "What is {value} {from_unit} in {to_unit}?", "Convert {value} {from_unit} into {to_unit}, please.",
        "Could you turn {value} {from_unit} into {to_unit}?", "{value} {from_unit} is how many {to_unit}?",
        "I have a measurement of {value} {from_unit}. Express it in {to_unit}.",
        "Need a quick conversion: {value} {from_unit} to {to_unit}.",
        "The label says {value} {from_unit}; what would that be in {to_unit}?",
    ],
    "convert_currency": [
        "What do {amount} {from_currency} come to in {to_currency}?", "Change {amount} {from_currency} to {to_currency}.",
        "How much would I get in {to_currency} for {amount} {from_currency}?",
        "Please convert {amount} {from_currency} into {to_currency}.",
        "A client paid {amount} {from_currency}. What is that worth in {to_currency}?",
        "Exchange {amount} {from_currency} for {to_currency}: how much is it?",
    ],
    "add_days": [
        "What is the date {days} days after {date}?", "Starting from {date}, count {days} days forward. Which date is it?",
        "If I add {days} days to {date}, what date do I get?", "Which day is {days} days on from {date}?",
        "Give me the date that falls {days} days after {date}.",
    ],
    "days_between": [
        "How many days are there from {start} to {end}?", "Count the days between {start} and {end}.",
        "What is the number of days from {start} until {end}?", "How long is it from {start} to {end}, in days?",
        "Between {start} and {end}, how many days pass?",
    ],
    "weekday_of": [
        "Which day of the week was {date}?", "What weekday is {date}?", "Tell me the day of the week for {date}.",
        "Is {date} a weekday or the weekend? Which day is it?", "On what day of the week does {date} fall?",
    ],
    "check_stock": [
        "How many {sku} are in stock?", "Look up the stock of {sku}.", "What's the current inventory for {sku}?",
        "Do we have {sku} available, and how many?", "Stock check on {sku}, please.",
        "Can you see how many units of {sku} we hold?",
    ],
    "reserve_stock": [
        "Reserve {quantity} units of {sku}.", "Please hold {quantity} of {sku} for a customer order.",
        "Put {quantity} x {sku} on reserve.", "Can you set aside {quantity} {sku} for me?",
        "I'd like to reserve {quantity} pieces of {sku}.", "Allocate {quantity} units of item {sku} to an order.",
    ],
    "list_items": [
        "Which {category} do we sell?", "Show the list of {category}.", "What {category} are in the catalogue?",
        "List our {category}, {in_stock_only}.", "Which {category} do we have, {in_stock_only}?",
        "Show me the {category} range, {in_stock_only}.", "I want to see all {category}.",
    ],
    "split_bill": [
        "Split a bill of {total} between {people} people.", "We owe {total} in total and there are {people} of us. How much each?",
        "Divide {total} among {people} people with a {tip_percent}% tip.",
        "The check is {total}; {people} people; tip {tip_percent} percent. What does each pay?",
        "How much per head if {people} people share {total}?",
        "Add a {tip_percent}% tip to {total} and split it {people} ways.",
    ],
    "shipping_cost": [
        "How much does it cost to send {weight_kg} kg to {destination}?", "Shipping price for a {weight_kg} kg parcel to {destination}?",
        "What would shipping {weight_kg} kg to {destination} cost, {express}?",
        "Quote for sending a {weight_kg} kg box to {destination}, {express}.",
        "I need to ship {weight_kg} kilograms to {destination}. What's the price?",
        "Send a parcel of {weight_kg} kg to {destination} {express}: how much and how long?",
    ],
}


def _temperature(value: float, from_unit: str, to_unit: str) -> float:
    celsius = {"c": value, "f": (value - 32) * 5 / 9, "k": value - 273.15}[from_unit]
    return {"c": celsius, "f": celsius * 9 / 5 + 32, "k": celsius + 273.15}[to_unit]


def convert_units(value: float, from_unit: Unit, to_unit: Unit) -> dict[str, object]:
    """Convert a length, mass, volume or temperature from one unit to another.

    Parameters
    ----------
    value : float
        The amount to convert.
    from_unit : str
        The unit of the amount (e.g. km, lb, gal, c for degrees Celsius).
    to_unit : str
        The unit wanted; it must measure the same thing as from_unit.
    """
    if from_unit in ("c", "f", "k") or to_unit in ("c", "f", "k"):
        if not (from_unit in ("c", "f", "k") and to_unit in ("c", "f", "k")):
            raise ValueError(f"cannot convert {from_unit} to {to_unit}: only temperatures convert to temperatures")
        return {"value": round(_temperature(value, from_unit, to_unit), 6), "unit": to_unit}
    (dim_a, fa), (dim_b, fb) = _UNITS[from_unit], _UNITS[to_unit]
    if dim_a != dim_b:
        raise ValueError(f"cannot convert {from_unit} ({dim_a}) to {to_unit} ({dim_b})")
    return {"value": round(value * fa / fb, 6), "unit": to_unit}


def convert_currency(amount: float, from_currency: Currency, to_currency: Currency) -> dict[str, object]:
    """Convert money between currencies at the demo's fixed exchange rates.

    Parameters
    ----------
    amount : float
        The sum of money to convert.
    from_currency : str
        ISO code of the currency the amount is in.
    to_currency : str
        ISO code of the currency wanted.
    """
    if amount < 0:
        raise ValueError("amount must not be negative")
    value = amount / _RATES[from_currency] * _RATES[to_currency]
    return {"amount": round(value, 2), "currency": to_currency, "rate": round(_RATES[to_currency] / _RATES[from_currency], 6)}


def add_days(date: dt.date, days: int) -> dict[str, object]:
    """The date a number of days after (or, if negative, before) a given date.

    Parameters
    ----------
    date : date
        The starting date (YYYY-MM-DD).
    days : int
        How many days to add; negative to go back.
    """
    out = date + dt.timedelta(days=days)
    return {"date": out.isoformat(), "weekday": _WEEKDAYS[out.weekday()]}


def days_between(start: dt.date, end: dt.date) -> dict[str, object]:
    """The number of days from one date to another (negative if end is earlier).

    Parameters
    ----------
    start : date
        The first date (YYYY-MM-DD).
    end : date
        The second date (YYYY-MM-DD).
    """
    return {"days": (end - start).days}


def weekday_of(date: dt.date) -> dict[str, object]:
    """The day of the week a date falls on.

    Parameters
    ----------
    date : date
        The date (YYYY-MM-DD).
    """
    return {"date": date.isoformat(), "weekday": _WEEKDAYS[date.weekday()]}


def check_stock(sku: str) -> dict[str, object]:
    """How many units of an inventory item are in stock, with its name and price.

    Parameters
    ----------
    sku : str
        The item's stock-keeping unit code, like LAP-101.
    """
    sku = sku.strip().upper()
    if sku not in _STOCK:
        raise KeyError(f"no item with SKU {sku}")
    name, category, qty, price = _STOCK[sku]
    return {"sku": sku, "name": name, "category": category, "in_stock": qty, "unit_price": price}


def reserve_stock(sku: str, quantity: int) -> dict[str, object]:
    """Check that an order of an item can be served from stock and give what would be left.

    Parameters
    ----------
    sku : str
        The item's stock-keeping unit code, like MON-270.
    quantity : int
        How many units to reserve (at least 1).
    """
    item = check_stock(sku)
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    left = int(item["in_stock"]) - quantity  # type: ignore[call-overload]
    if left < 0:
        raise ValueError(f"only {item['in_stock']} units of {item['sku']} in stock")
    return {"sku": item["sku"], "reserved": quantity, "left": left, "total": round(quantity * float(item["unit_price"]), 2)}  # type: ignore[arg-type]


def list_items(category: Category, in_stock_only: bool = False) -> dict[str, object]:
    """The inventory items of a category.

    Parameters
    ----------
    category : str
        One of laptops, monitors, accessories, furniture.
    in_stock_only : bool
        Leave out the items with no units in stock.
    """
    items = [{"sku": sku, "name": name, "in_stock": qty} for sku, (name, cat, qty, _) in _STOCK.items()
             if cat == category and (qty > 0 or not in_stock_only)]
    return {"category": category, "items": items}


def split_bill(total: float, people: int, tip_percent: float = 15.0) -> dict[str, object]:
    """Split a bill evenly between people, with a tip added first.

    Parameters
    ----------
    total : float
        The bill before the tip.
    people : int
        How many people share it (at least 1).
    tip_percent : float
        The tip as a percentage of the bill.
    """
    if people < 1:
        raise ValueError("people must be at least 1")
    with_tip = total * (1 + tip_percent / 100)
    return {"total_with_tip": round(with_tip, 2), "per_person": round(with_tip / people, 2)}


def shipping_cost(weight_kg: float, destination: Country, express: bool = False) -> dict[str, object]:
    """The cost in US dollars of shipping a parcel from the US warehouse.

    Parameters
    ----------
    weight_kg : float
        The parcel's weight in kilograms (up to 30).
    destination : str
        ISO code of the destination country.
    express : bool
        Ship express (about twice the price, half the time).
    """
    if not 0 < weight_kg <= 30:
        raise ValueError("weight_kg must be above 0 and at most 30")
    zone = _ZONES[destination]
    cost = (4.5 + 1.8 * weight_kg) * (1.0, 2.6, 3.4)[zone - 1] * (2.0 if express else 1.0)
    days = (3, 7, 9)[zone - 1] // (2 if express else 1)
    return {"cost_usd": round(cost, 2), "days": days, "zone": zone}


def heldout_path() -> Path:
    """The hand-written held-out requests for this API (JSONL rows ``{"request", "call"}``)."""
    return Path(__file__).with_name("data") / "demo_heldout.jsonl"


#: requests whose values come first, as context, and the question after them
CONTEXT_TEMPLATES: dict[str, list[str]] = {
    "convert_units": ["The spec sheet lists {value} {from_unit}. I think in {to_unit}: what is it?",
                      "Measured it: {value} {from_unit}. Can you give me that in {to_unit}?"],
    "convert_currency": ["My budget is {amount} {from_currency}. I'm paying in {to_currency}: how much is that?",
                         "The invoice total is {amount} {from_currency}. Convert it to {to_currency}."],
    "add_days": ["The contract starts on {date}. The notice period is {days} days. On what date does it end?",
                 "Order placed {date}; delivery takes {days} days. Which date will that be?"],
    "days_between": ["I moved in on {start} and the lease ends on {end}. How many days is that?",
                     "Opening day was {start}; closing day is {end}. Count the days in between."],
    "weekday_of": ["The meeting is set for {date}. Which day of the week is that?",
                   "Her birthday is {date}. What weekday does it fall on?"],
    "check_stock": ["A customer asked about item {sku}. How many do we have?",
                    "Item {sku} was popular last month. What's its stock now?"],
    "reserve_stock": ["Customer order: {quantity} units of {sku}. Please reserve them.",
                      "We need {sku} for a project, {quantity} of them. Hold those for us."],
    "list_items": ["A client is shopping for {category}. What can we offer?"],
    "split_bill": ["The restaurant bill is {total}. There are {people} of us. What does each person pay?",
                   "Total {total}, tip {tip_percent}%, {people} people. Work out each share."],
    "shipping_cost": ["My parcel weighs {weight_kg} kg. What does it cost to send it to {destination}?",
                      "The box is {weight_kg} kg and it goes to {destination}, {express}. What's the cost?"],
}

# VALUE_POOLS, SURFACE_FORMS, UNSUPPORTED_VALUES, REQUEST_TEMPLATES and CONTEXT_TEMPLATES are hints for the corpus builder,
# not tools: only the functions in __all__ are offered.
__all__ = ["add_days", "check_stock", "convert_currency", "convert_units", "days_between", "list_items",
           "reserve_stock", "shipping_cost", "split_bill", "weekday_of"]
