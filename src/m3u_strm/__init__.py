"""M3U-STRM-Processor: a self-hosted IPTV manager that knows what happens to every stream and every viewer."""

__version__ = "0.1.0"
