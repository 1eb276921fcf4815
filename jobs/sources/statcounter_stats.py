"""The four StatCounter stat types the `statcounter` source reads for China.

Each stat names its chart.php query (the seen third-party patterns with region_hidden=CN
substituted, see LIVE_SOURCES.md §1), its label -> class table in data/, which class is
the numerator and which classes make the denominator, and (for the pulled-only stats)
the series catalogue row the pull creates. `vendor` is bundled (data/series.csv), so it
carries no row here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ALL_DEVICES = {  # the all-platform form seen for search engines and browsers
    "device": "Desktop & Mobile & Tablet & Console",
    "device_hidden": "desktop+mobile+tablet+console", "multi-device": "true",
}
_UNVERIFIED = ("StatCounter's China labels for this stat were not verified from a stored CN "
               "export (the mapping uses StatCounter's worldwide labels); an unmapped label "
               "is reported in the pull's warnings and left out of the share.")


@dataclass(frozen=True)
class Stat:
    name: str
    query: dict  # chart.php parameters that differ between stats
    mapping_file: str
    mapping_key: str  # the label column of the mapping table
    mapping_option: str  # the parse option that replaces the bundled table
    numerator: str  # the class whose share is the value
    counted: tuple[str, ...]  # classes in the denominator (the rest: excluded / unmapped)
    series_key: str
    public_url: str
    noun: str  # for messages: "vendor", "browser", ...
    series: dict = field(default_factory=dict)  # catalogue row; empty when bundled


def _pulled(name: str, *, query: dict, mapping_file: str, series_key: str, public_url: str, noun: str,
            numerator: str = "domestic", counted: tuple[str, ...] = ("domestic", "foreign", "ambiguous"),
            **series_fields) -> Stat:
    """A stat whose series only a pull creates: its catalogue row carries the stat's own
    series key and public page, so the two cannot drift apart."""
    return Stat(
        name=name, query=query, mapping_file=mapping_file, mapping_key="label",
        mapping_option="label_origin", numerator=numerator, counted=counted,
        series_key=series_key, public_url=public_url, noun=noun,
        series={"key": series_key, "geography": "CN", "unit": "share", "frequency": "monthly",
                "publisher": "StatCounter", "source_url": public_url, **series_fields},
    )


STATS = {
    "vendor": Stat(
        name="vendor",
        query={"device": "Mobile", "device_hidden": "mobile", "statType_hidden": "vendor",
               "statType": "Device Vendor"},
        mapping_file="statcounter_vendor_origin.csv", mapping_key="vendor",
        mapping_option="vendor_origin", numerator="domestic",
        counted=("domestic", "foreign", "ambiguous"),
        series_key="phones_usage_statcounter_domestic_share",
        public_url="https://gs.statcounter.com/vendor-market-share/mobile/china", noun="vendor",
    ),
    "os": _pulled(
        "os",
        query={"device": "Desktop", "device_hidden": "desktop", "statType_hidden": "os",
               "statType": "Operating System"},
        mapping_file="statcounter_os_origin.csv", numerator="linux", counted=("linux", "foreign"),
        series_key="os_desktop_linux_share_statcounter",
        public_url="https://gs.statcounter.com/os-market-share/desktop/china", noun="OS label",
        sector="all", technology="os", kind="context",
        title="Desktop OS in China: Linux share of known-OS page views "
              "(UPPER-BOUND PROXY for domestic OS, not a domestic share)",
        description="Monthly, from StatCounter's desktop OS export for China: Linux / "
                    "(Linux + Windows + OS X/macOS + Chrome OS) page views, classified by "
                    "data/statcounter_os_origin.csv; Unknown and Other are left out. "
                    "StatCounter has no label for domestic systems: Kylin and UOS report "
                    "as Linux, together with every foreign distribution, so this bounds "
                    "the domestic desktop OS share from above.",
        source="StatCounter Global Stats, Desktop Operating System Market Share China, CSV export",
        caveat="UPPER BOUND, stored as a context series so it is never forecast or shown as "
               "a domestic share: Linux counts foreign distributions (Ubuntu, Fedora ...) "
               "as well as Kylin, UOS and deepin. Web page views of desktops in use, not "
               "shipments. " + _UNVERIFIED,
    ),
    "search_engine": _pulled(
        "search_engine",
        query={**ALL_DEVICES, "statType_hidden": "search_engine", "statType": "Search Engine"},
        mapping_file="statcounter_search_engine_origin.csv",
        series_key="search_domestic_share_statcounter",
        public_url="https://gs.statcounter.com/search-engine-market-share/all/china",
        noun="search engine",
        sector="consumer", technology="search", kind="domestic_share",
        title="Web search in China: share of Chinese search engines (StatCounter, all devices)",
        description="Monthly, from StatCounter's search engine export for China "
                    "(desktop + mobile + tablet + console): share of search referrals "
                    "from Chinese engines (Baidu, Sogou, Haosou/360, Shenma ...) / all "
                    "classified engines, per data/statcounter_search_engine_origin.csv; "
                    "Other is left out of the denominator.",
        source="StatCounter Global Stats, Search Engine Market Share China, CSV export",
        caveat="Share of search-engine referrals to sites running StatCounter, not of "
               "searches made. " + _UNVERIFIED,
    ),
    "browser": _pulled(
        "browser",
        query={**ALL_DEVICES, "statType_hidden": "browser", "statType": "Browser"},
        mapping_file="statcounter_browser_origin.csv",
        series_key="browser_domestic_brand_share_statcounter",
        public_url="https://gs.statcounter.com/browser-market-share/all/china", noun="browser",
        sector="consumer", technology="browsers", kind="domestic_share",
        title="Web browsers in China: share of Chinese browser brands (StatCounter, all devices)",
        description="Monthly, from StatCounter's browser export for China (desktop + "
                    "mobile + tablet + console): page views from Chinese-brand browsers "
                    "(QQ, UC, Sogou Explorer, 360 Safe, Maxthon ...) / all classified "
                    "browsers, per data/statcounter_browser_origin.csv. Ambiguous labels "
                    "(Opera, the stock Android browser) stay in the denominator but never "
                    "count as domestic; Chromium, Unknown and Other are left out.",
        source="StatCounter Global Stats, Browser Market Share China, CSV export",
        caveat="Brand, not engine: most Chinese browsers are built on Chromium (Blink) or "
               "offer an IE (Trident) mode, so a domestic brand is no domestic engine. "
               + _UNVERIFIED,
    ),
}
