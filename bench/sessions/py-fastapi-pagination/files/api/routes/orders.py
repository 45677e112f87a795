from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import Order, get_session

router = APIRouter(prefix="/orders", tags=["orders"])


class OrderOut(BaseModel):
    id: int
    customer_id: int
    status: str
    total_cents: int
    created_at: datetime

    model_config = {"from_attributes": True}


@router.get("", response_model=list[OrderOut])
async def list_orders(
    status: str | None = None,
    session: AsyncSession = Depends(get_session),
) -> list[OrderOut]:
    query = select(Order).order_by(Order.created_at.desc())
    if status is not None:
        query = query.where(Order.status == status)
    rows = (await session.scalars(query)).all()
    return [OrderOut.model_validate(row) for row in rows]


@router.get("/{order_id}", response_model=OrderOut)
async def get_order(order_id: int, session: AsyncSession = Depends(get_session)) -> OrderOut:
    order = await session.get(Order, order_id)
    if order is None:
        raise HTTPException(status_code=404, detail="order not found")
    return OrderOut.model_validate(order)


@router.post("/{order_id}/cancel", response_model=OrderOut)
async def cancel_order(order_id: int, session: AsyncSession = Depends(get_session)) -> OrderOut:
    order = await session.get(Order, order_id)
    if order is None:
        raise HTTPException(status_code=404, detail="order not found")
    if order.status not in ("pending", "paid"):
        raise HTTPException(status_code=409, detail=f"cannot cancel an order that is {order.status}")
    order.status = "cancelled"
    await session.commit()
    await session.refresh(order)
    return OrderOut.model_validate(order)
