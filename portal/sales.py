"""Hands a confirmed sale from the listings to the title transfer, as a value.

The composition root's job: ``title_transfer`` does not read the listings' tables and the
listings do not know transfers; this is the one place that knows both shapes.
"""

from __future__ import annotations

from decimal import Decimal

from auction_listings.models import Sale
from title_transfer.service import ConfirmedSale
from title_transfer.tax import HomeCount, Location, Party, PropertyUse, TaxClause
from title_transfer.workflow import AssetKind


def confirmed_sale(sale: Sale) -> ConfirmedSale:
    """The transfer's view of a sale (its lot loaded with it)."""
    lot = sale.lot
    return ConfirmedSale(
        sale_id=sale.id,
        buyer_id=sale.buyer_id,
        price=Decimal(sale.price),
        confirmed_on=sale.confirmed_on,
        asset_kind=AssetKind(lot.asset_kind),
        title=lot.title,
        address=lot.address,
        title_en=lot.title_en,
        address_en=lot.address_en,
        court=lot.court,
        has_gas=lot.has_gas,
        utility_arrears_clause=lot.utility_arrears_clause,
        property_use=PropertyUse(lot.property_use),
        area_m2=Decimal(lot.area_m2),
        tax_clause=TaxClause(lot.tax_clause),
        location=Location(lot.location),
        buyer_type=Party(sale.buyer_type),
        buyer_homes=HomeCount(sale.buyer_homes),
        seller_type=Party(lot.seller_type),
        seller_acquired_on=lot.seller_acquired_on,
        seller_purchase_price=Decimal(lot.seller_purchase_price) if lot.seller_purchase_price is not None else None,
        seller_only_home=lot.seller_only_home,
    )
