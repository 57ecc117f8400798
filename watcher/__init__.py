"""cloudfront-watcher: keeps CloudFront distributions fresh when their S3 origins change."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cloudfront-watcher")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
