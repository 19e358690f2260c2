"""Runs inside the mxnet reference venv (.venv-mxnet), never in the test process.

Serves one request per line on stdin, a JSON list of tasks, with one line on stdout, the JSON list of
their results, so that a test session pays for importing mxnet once. Bytes travel as hex.
"""

import json
import os
import runpy
import sys

import mxnet as mx


def read(task):
    record = mx.recordio.MXRecordIO(task["rec"], "r")
    payloads = []
    while True:
        item = record.read()
        if item is None:
            break
        payloads.append(item.hex())
    record.close()
    return payloads


def read_idx(task):
    record = mx.recordio.MXIndexedRecordIO(task["idx"], task["rec"], "r")
    result = {str(key): record.read_idx(key).hex() for key in record.keys}
    record.close()
    return result


def unpack(task):
    headers = []
    for payload in read(task)[task.get("start", 0) :]:
        header, image = mx.recordio.unpack(bytes.fromhex(payload))
        label = header.label.tolist() if hasattr(header.label, "tolist") else header.label
        headers.append({"flag": header.flag, "label": label, "id": header.id, "id2": header.id2, "image": image.hex()})
    return headers


def write(task):
    """task["records"]: [{"key", "payload"}] or [{"key", "labels", "image", "id"}] packed with mx.recordio.pack."""
    record = mx.recordio.MXIndexedRecordIO(task["idx"], task["rec"], "w")
    for item in task["records"]:
        if "payload" in item:
            payload = bytes.fromhex(item["payload"])
        else:
            header = mx.recordio.IRHeader(0, item["labels"], item["id"], 0)
            payload = mx.recordio.pack(header, bytes.fromhex(item["image"]))
        record.write_idx(item["key"], payload)
    record.close()
    return None


def iterate(task):
    """Labels of every image ImageRecordIter yields, in file order."""
    data_iter = mx.io.ImageRecordIter(
        path_imgrec=task["rec"],
        data_shape=tuple(task["data_shape"]),
        label_width=task.get("label_width", 1),
        batch_size=1,
        shuffle=False,
        round_batch=False,
        preprocess_threads=1,
    )
    labels = []
    for batch in data_iter:
        labels.append(batch.label[0].asnumpy()[0].tolist())
    return labels


def im2rec(task):
    """mxnet's own tools/im2rec.py with the given arguments, run in the given folder."""
    script = os.path.join(os.path.dirname(mx.__file__), "tools", "im2rec.py")
    os.chdir(task["cwd"])
    sys.argv = [script] + task["args"]
    stdout = sys.stdout
    sys.stdout = sys.stderr  # im2rec prints progress; stdout carries the JSON answer
    try:
        namespace = runpy.run_path(script, run_name="__main__")
    finally:
        sys.stdout = stdout
    # im2rec leaves its writer open for interpreter exit to flush; this process lives on, so close it here.
    if "record" in namespace:
        namespace["record"].close()
    return None


TASKS = {"read": read, "read_idx": read_idx, "unpack": unpack, "write": write, "iterate": iterate, "im2rec": im2rec}

if __name__ == "__main__":
    for line in sys.stdin:
        try:
            answer = {"results": [TASKS[task["task"]](task) for task in json.loads(line)]}
        except Exception as error:  # reported to the test, which fails with it
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
