from ecommerce_pipeline.transforms.conversion_funnel import conversion_funnel
from ecommerce_pipeline.transforms.events import counted


def test_conversion_funnel(silver_tables):
    rows = {r["device_type"]: r for r in conversion_funnel(counted(silver_tables["events_clean"])).to_pylist()}
    assert set(rows) == {"all", "mobile", "desktop"}
    overall = rows["all"]
    # S1 reached purchase (so checkout too); S2 only viewed a product.
    assert [
        overall[f"{s}_sessions"] for s in ("page_view", "product_view", "add_to_cart", "checkout_start", "purchase")
    ] == [2, 2, 1, 1, 1]
    assert overall["product_view_to_add_to_cart_rate"] == 0.5
    assert overall["overall_conversion_rate"] == 0.5
    assert rows["mobile"]["purchase_sessions"] == 1 and rows["desktop"]["purchase_sessions"] == 0
