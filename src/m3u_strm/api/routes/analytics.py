"""Analytics endpoints. The analytics issue adds the rest; the provider performance log lives here already."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from m3u_strm.analytics.provider_performance import provider_performance
from m3u_strm.api.deps import AdminUser, SessionDep
from m3u_strm.api.schemas import ProviderPerformance

router = APIRouter(prefix="/api/analytics", tags=["analytics"])


@router.get("/admin/providers/performance", response_model=list[ProviderPerformance])
def read_provider_performance(
    _: AdminUser, session: SessionDep, days: Annotated[int, Query(ge=1, le=3660)] = 30
) -> list[ProviderPerformance]:
    return [ProviderPerformance(**row) for row in provider_performance(session, days)]
