"""The content-addressed image store: one image per SHA-256, in one of two backends.

- FolderImageStore (the embedded default): DATA/images/<sha[:2]>/<sha>.jpg.
- S3ImageStore: any S3 API (AWS S3, MinIO, Ceph, SeaweedFS), the object
  PREFIX<sha[:2]>/<sha>.jpg in a bucket (the folder's layout, so a folder can be
  copied into a bucket as it is), chosen by `platedesk-hub init --image-store
  s3://BUCKET[/PREFIX]`; endpoint and keys come from the standard AWS_ENDPOINT_URL,
  AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, never from a settings file.

Ingest, the image route and the purge see only ImageStore (open_image_store picks
the backend from the settings). The store keeps no table of its own: a read names
its scene's and crop's sha256 and size, and an image that no read names any more is
removed by the purge (hub.retention).
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, TypeVar

from hub.core.config import HubSettings, s3_location
from hub.errors import HubError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from obstore.store import S3Store as ObjectStore

SHA256_RE = re.compile(r"[0-9a-f]{64}")  # use with fullmatch: "$" lets a trailing newline through
JPEG = "image/jpeg"
WRITE_CHUNK_FILES = 16  # files per task handed to a writer thread
_BINARY = getattr(os, "O_BINARY", 0)
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY
# An object store waits on the network for every request, so its writes, existence
# checks and batch deletes run on this many threads unless the settings name a number.
S3_THREADS = 16
S3_DELETE_BATCH = 1000  # keys per multi-object delete: the S3 API's most
_T = TypeVar("_T")
_R = TypeVar("_R")


class ImageStoreUnavailable(HubError):
    """The image store did not answer or refused the hub: ingest answers 503 and records
    nothing (the camera sends again), the image route answers 503."""

    def __init__(self, store: str, problem: str) -> None:
        super().__init__(
            503,
            f"The image store {store} is unavailable ({problem}). Check that the object "
            "store runs and that AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY are right, then try again (a camera's reads were not "
            "recorded: it sends them again).",
        )
        self.store = store


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _check_name(sha256: str) -> None:
    if not SHA256_RE.fullmatch(sha256):
        raise ValueError("an image is named by 64 lower-case hex characters")


class ImageStore(abc.ABC):
    """Images named by their SHA-256, each stored whole (a reader never sees part of one)."""

    # Threads an ImageWriter writes on; 0: the caller's own thread.
    writer_threads: int
    # Files per task handed to a writer thread.
    write_chunk_files: ClassVar[int] = WRITE_CHUNK_FILES
    # Whether remove() may run in another process (the store pickled there): the
    # purge's sweep spreads long lists of files over processes (hub.retention).
    removes_in_processes: ClassVar[bool] = False

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """Where the images are, for messages (no keys)."""

    @abc.abstractmethod
    def write_named(self, sha: str, data: bytes) -> None:
        """Store `data` under `sha` (its caller hashed it) unless it is there whole."""

    @abc.abstractmethod
    def read(self, sha256: str) -> bytes:
        """The image's bytes; FileNotFoundError when there is none."""

    @abc.abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abc.abstractmethod
    def remove(self, shas: list[str]) -> int:
        """Remove these images (not sha256: skipped); how many were removed."""

    def missing(self, shas: Iterable[str]) -> set[str]:
        """Those of these images that are not stored."""
        return {sha for sha in shas if not self.exists(sha)}

    def read_many(self, shas: list[str]) -> Iterator[tuple[str, bytes | None]]:
        """Each image's bytes in the order asked (None for one that is not stored)."""
        for sha in shas:
            yield sha, self._read_or_none(sha)

    def _read_or_none(self, sha256: str) -> bytes | None:
        try:
            return self.read(sha256)
        except FileNotFoundError:
            return None

    def put(self, data: bytes) -> str:
        """Store the bytes (once) and return their SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        self.write_named(sha, data)
        return sha

    def writer(self) -> ImageWriter:
        """An ImageWriter on this store (its writer threads, or the caller's thread)."""
        return ImageWriter(self)

    @contextlib.contextmanager
    def storing(self, files: Mapping[str, bytes]) -> Iterator[None]:
        """Store files (SHA-256 -> bytes) around the block: before it, or on the writer
        threads while it runs (the block, the transaction that records the files,
        then overlaps the writing).

        On leaving it every file is stored and named by its own SHA-256, or the first
        failure is raised. When the block fails, the writes still finish (no file is
        left half written) and the block's error is raised.

        Lease the files first (hub.image_leases) unless the block holds the
        change-log lock from before the writes begin: a purge may remove an image
        that no read names yet, and spares only what a lease names.
        """
        writer = ImageWriter(self)
        try:
            writer.add(files)
            writer.flush()
            yield
        except BaseException:
            writer.wait(raise_errors=False)
            raise
        writer.wait()


class FolderImageStore(ImageStore):
    """Files named by their SHA-256, each written once and never rewritten (see write_named)."""

    removes_in_processes = True

    def __init__(self, root: Path, *, writer_threads: int = 0) -> None:
        self.root = root
        # On a local disk creating a file is CPU in the kernel, not a wait, and every
        # os call of a writer thread must win the GIL back from the request threads:
        # measured on 2 cores, 4 threads cost 0.2-0.5 ms more CPU per read than none,
        # for no more throughput. A file system whose creates wait (a network share)
        # may want some.
        self.writer_threads = writer_threads

    @property
    def name(self) -> str:
        return f"folder {self.root}"

    def path_of(self, sha256: str) -> Path:
        _check_name(sha256)
        return self.root / sha256[:2] / f"{sha256}.jpg"

    def write_named(self, sha: str, data: bytes) -> None:
        """Create the file named `sha` (its caller hashed `data`) unless it is there whole.

        The file is created under its own name (O_EXCL: one writer wins), which costs
        one directory entry instead of the two of a temp file and a rename; that is
        most of an ingest's file-system time. No committed row names a file that is
        being created (the commit waits for its writes), and a write that fails
        removes its file. A file that exists with another size (a crash mid-write, or
        a concurrent writer still busy) is written again by temp file and rename, so
        a reader never sees it partial.
        """
        folder, target = self._file(sha)
        try:
            fd = os.open(target, _CREATE_NEW, 0o644)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            try:
                fd = os.open(target, _CREATE_NEW, 0o644)
            except FileExistsError:
                fd = -1
        except FileExistsError:
            fd = -1
        if fd < 0:
            try:
                if os.stat(target).st_size == len(data):
                    return
            except FileNotFoundError:
                pass  # removed meanwhile: write it again
            self._replace(folder, target, sha, data)
            return
        try:
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(target)
            raise

    def _replace(self, folder: str, target: str, sha: str, data: bytes) -> None:
        temp_name = os.path.join(folder, f".tmp-{sha}-{os.getpid()}-{threading.get_ident()}")
        fd = os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _BINARY, 0o644)
        try:
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def open(self, sha256: str) -> BinaryIO:
        return self.path_of(sha256).open("rb")

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as handle:
            return handle.read()

    def by_folder(self, shas: list[str]) -> dict[str, list[str]]:
        """The file names of these images (not sha256: skipped), by their folder's path."""
        folders: dict[str, list[str]] = {}
        for sha in shas:
            if SHA256_RE.fullmatch(sha):
                folders.setdefault(os.path.join(self.root, sha[:2]), []).append(f"{sha}.jpg")
        return folders

    def remove(self, shas: list[str]) -> int:
        """Unlink the files of these images (not sha256: skipped); how many were there."""
        return sum(
            self.remove_from(folder, names) for folder, names in self.by_folder(shas).items()
        )

    @staticmethod
    def remove_from(folder: str, names: list[str]) -> int:
        """Unlink these files of one folder (named relative to the folder's descriptor,
        which spares the kernel the walk from the root for each); how many were there."""
        try:
            descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except FileNotFoundError:
            return 0  # no folder, so none of its files
        removed = 0
        try:
            for name in names:
                try:
                    os.unlink(name, dir_fd=descriptor)
                except FileNotFoundError:
                    continue
                removed += 1
        finally:
            os.close(descriptor)
        return removed

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).exists()

    def missing(self, shas: Iterable[str]) -> set[str]:
        return {sha for sha in shas if not os.path.exists(self._file(sha)[1])}

    def _file(self, sha: str) -> tuple[str, str]:
        """The folder and the path of the file named `sha` (checked by the caller)."""
        folder = os.path.join(self.root, sha[:2])
        return folder, os.path.join(folder, f"{sha}.jpg")


class S3ImageStore(ImageStore):
    """Objects named by their SHA-256 in a bucket of any S3 API: each image written and
    read through obstore (Rust's object_store, a fifth of boto3's CPU a request), the
    rest (existence checks, batch deletes, the bucket check) through boto3.

    The hub's keys need s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket
    (without the last, AWS answers 403, not 404, for a missing image: check() says so).
    A PUT is atomic (a reader never sees part of an object), so write_named puts the
    bytes again when asked: the same bytes under the same key. Endpoint, region and
    keys come from the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, ...; both clients also take an instance's role, but only
    boto3 reads ~/.aws files: give the keys as variables). A store that does not
    answer, or refuses the hub, raises ImageStoreUnavailable; a missing image reads
    as FileNotFoundError.
    """

    # Each write is a request that waits on the network: spread them over the threads.
    write_chunk_files: ClassVar[int] = 2

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        writer_threads: int = S3_THREADS,
        client: S3Client | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.writer_threads = writer_threads
        self._threads = max(1, writer_threads)
        # boto3 for the rare requests (existence checks, batch deletes, the bucket
        # check); obstore for the many (each image's write and read), at a fifth of
        # boto3's CPU a request. Both from the same AWS_* variables.
        self.client = client if client is not None else s3_client(pool=self._threads * 2)
        self.objects = object_store(bucket)

    @property
    def name(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def key(self, sha256: str) -> str:
        _check_name(sha256)
        return f"{self.prefix}{sha256[:2]}/{sha256}.jpg"

    def write_named(self, sha: str, data: bytes) -> None:
        import obstore

        key = self.key(sha)
        with self._answering("writing an image"):
            obstore.put(self.objects, key, data, attributes={"Content-Type": JPEG})

    def read(self, sha256: str) -> bytes:
        import obstore

        key = self.key(sha256)
        with self._answering("reading an image"):
            try:
                return bytes(obstore.get(self.objects, key).bytes())
            except FileNotFoundError:
                raise FileNotFoundError(sha256) from None

    def exists(self, sha256: str) -> bool:
        key = self.key(sha256)
        with self._answering("looking for an image"):
            try:
                self.client.head_object(Bucket=self.bucket, Key=key)
            except _client_error() as error:
                if _status(error) == 404:
                    return False
                raise
            return True

    def read_many(self, shas: list[str]) -> Iterator[tuple[str, bytes | None]]:
        """Each image's bytes in the order asked, fetched on the store's threads."""
        yield from zip(shas, self._map(self._read_or_none, shas), strict=True)

    def missing(self, shas: Iterable[str]) -> set[str]:
        names = list(shas)
        present = self._map(self.exists, names)
        return {sha for sha, there in zip(names, present, strict=True) if not there}

    def remove(self, shas: list[str]) -> int:
        """Delete these objects, S3_DELETE_BATCH keys a request (the multi-object
        delete), the requests on the store's threads. An S3 API reports a key as
        deleted whether or not it was there, so the count is of the keys deleted."""
        keys = [self.key(sha) for sha in shas if SHA256_RE.fullmatch(sha)]
        batches = [keys[i : i + S3_DELETE_BATCH] for i in range(0, len(keys), S3_DELETE_BATCH)]
        return sum(self._map(self._delete_batch, batches))

    def _delete_batch(self, keys: list[str]) -> int:
        with self._answering("deleting images"):
            reply = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": False},
            )
        if reply.get("Errors"):
            # The purge's transaction fails and rolls back: its reads stay, and the
            # next purge deletes them and their objects again.
            raise ImageStoreUnavailable(self.name, "it refused to delete some images")
        return len(reply.get("Deleted", []))

    def check(self) -> None:
        """Raise ImageStoreUnavailable unless the bucket answers to the hub's keys, and
        answers 404 for an image it lacks (AWS answers 403 instead when the keys may
        not list the bucket: grant them s3:ListBucket as well as s3:GetObject,
        s3:PutObject and s3:DeleteObject)."""
        with self._answering("looking for the bucket (create it if it is not there)"):
            self.client.head_bucket(Bucket=self.bucket)
        with self._answering(
            "looking for an image it lacks, which must answer 404 (grant the keys "
            "s3:ListBucket on the bucket)"
        ):
            try:
                self.client.head_object(
                    Bucket=self.bucket, Key=self.key(hashlib.sha256(b"").hexdigest())
                )
            except _client_error() as error:
                if _status(error) != 404:
                    raise

    def _map(self, function: Callable[[_T], _R], items: list[_T]) -> list[_R]:
        if len(items) <= 1 or self._threads <= 1:
            return [function(item) for item in items]
        with ThreadPoolExecutor(
            min(self._threads, len(items)), thread_name_prefix="image-store-s3"
        ) as pool:
            return list(pool.map(function, items))

    @contextlib.contextmanager
    def _answering(self, action: str) -> Iterator[None]:
        """Turn the client's failures (the store down, keys refused) into
        ImageStoreUnavailable; FileNotFoundError and bugs pass."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
        from obstore.exceptions import BaseError as ObjectStoreError

        try:
            yield
        except FileNotFoundError:
            raise
        except ObjectStoreError as error:
            raise ImageStoreUnavailable(self.name, f"{action}: {type(error).__name__}") from None
        except NoCredentialsError:
            raise ImageStoreUnavailable(
                self.name, f"{action}: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"
            ) from None
        except ClientError as error:
            status = _status(error)
            code = str(error.response.get("Error", {}).get("Code", ""))
            said = f"{status} {code}" if code and code != str(status) else str(status)
            raise ImageStoreUnavailable(self.name, f"{action}: it answered {said}") from None
        except BotoCoreError as error:
            raise ImageStoreUnavailable(self.name, f"{action}: {type(error).__name__}") from None


def _client_error() -> type[Exception]:
    from botocore.exceptions import ClientError

    return ClientError


def _status(error: Any) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def s3_client(*, pool: int = S3_THREADS * 2) -> S3Client:
    """A boto3 S3 client from the standard AWS_* variables: path-style addressing when
    AWS_ENDPOINT_URL names an endpoint (MinIO, SeaweedFS, Ceph), a few retries, and
    timeouts short enough that a camera's request gets its 503 while it waits."""
    import boto3
    from botocore.config import Config

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    config = Config(
        region_name=region,
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=pool,
        s3={"addressing_style": "path" if endpoint else "auto"},
    )
    return boto3.client("s3", config=config)


def object_store(bucket: str) -> ObjectStore:
    """An obstore S3 store of the bucket from the same AWS_* variables as s3_client
    (keys too: obstore reads them), with the same short timeouts and few retries."""
    from obstore.store import S3Store

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    options: dict[str, Any] = {"region": region}
    if endpoint:
        options.update(endpoint=endpoint, virtual_hosted_style_request=False)
    return S3Store(
        bucket,
        client_options={
            "allow_http": bool(endpoint and endpoint.startswith("http://")),
            "connect_timeout": timedelta(seconds=5),
            "timeout": timedelta(seconds=30),
        },
        retry_config={
            "max_retries": 3,
            "retry_timeout": timedelta(seconds=20),
            # boto3's "standard" pace: a busy store (503 Slow Down) is tried again soon.
            "backoff": {
                "init_backoff": timedelta(milliseconds=50),
                "max_backoff": timedelta(seconds=2),
                "base": 2,
            },
        },
        **options,
    )


def open_image_store(settings: HubSettings) -> ImageStore:
    """The store the settings name: the data folder's, or a bucket (s3://...)."""
    url = settings.image_store_url
    if url is None:
        return FolderImageStore(settings.images_dir, writer_threads=settings.image_writer_threads)
    bucket, prefix = s3_location(url)
    return S3ImageStore(bucket, prefix, writer_threads=settings.image_writer_threads or S3_THREADS)


class ImageWriter:
    """Files handed over batch by batch, written on the store's writer threads, or at
    once in the caller's thread when the store has none (the default).

    `add` queues files (SHA-256 -> bytes) and writes them (or hands them to the
    threads) a few at a time, so with threads the caller goes on (decoding the next
    reads, say) while they are written; `wait` returns once every file handed over
    is written and raises the first failure.
    """

    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self._pending: list[tuple[str, bytes, bool]] = []
        self._queued: set[str] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._tasks: list[Future[None]] = []
        self._failure: BaseException | None = None

    @property
    def names(self) -> frozenset[str]:
        """The SHA-256 of every file handed over so far."""
        return frozenset(self._queued)

    def add(self, files: Mapping[str, bytes], *, hashed: bool = False) -> None:
        """Queue files by SHA-256. With `hashed` the caller vouches that each name is
        its bytes' SHA-256 (computed from them just before), so they are not hashed
        again; otherwise a name that is not the bytes' SHA-256 fails the write."""
        for sha, data in files.items():
            if sha in self._queued:
                continue
            self._queued.add(sha)
            self._pending.append((sha, data, hashed))
            if len(self._pending) >= self.store.write_chunk_files:
                self.flush()

    def flush(self) -> None:
        """Write the queued files now, or hand them to the threads."""
        if not self._pending:
            return
        chunk, self._pending = self._pending, []
        if not self.store.writer_threads:
            try:
                self._write_chunk(chunk)
            except Exception as exc:  # raised by wait(), as from a thread
                self._failure = self._failure or exc
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.store.writer_threads, thread_name_prefix="image-store"
            )
        self._tasks.append(self._pool.submit(self._write_chunk, chunk))

    def _write_chunk(self, chunk: list[tuple[str, bytes, bool]]) -> None:
        failure: BaseException | None = None
        for sha, data, hashed in chunk:
            try:  # every file of the chunk is tried; the first failure is kept
                if hashed:
                    if not SHA256_RE.fullmatch(sha):
                        raise ValueError("an image is named by 64 lower-case hex characters")
                    self.store.write_named(sha, data)
                elif self.store.put(data) != sha:
                    raise ValueError("an image was announced under another SHA-256 than its own")
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def wait(self, *, raise_errors: bool = True) -> None:
        """Write what is queued and wait for every file; raise the first failure."""
        self.flush()
        tasks, self._tasks = self._tasks, []
        first, self._failure = self._failure, None
        for task in tasks:
            error = task.exception()
            first = first or error
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if first is not None and raise_errors:
            raise first
