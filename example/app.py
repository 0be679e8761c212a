"""A small Lambda function: validates an order with pydantic and reports the requests version."""

from __future__ import annotations

import requests
from pydantic import BaseModel, PositiveInt


class Order(BaseModel):
    item: str
    quantity: PositiveInt


def lambda_handler(event, context):
    order = Order.model_validate(event)
    return {
        "item": order.item,
        "quantity": order.quantity,
        "requests": requests.__version__,
    }
