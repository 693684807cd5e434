#!/usr/bin/python3
"""An independent client of the gateway: Python grpcio and Google's protobuf runtime, with
message classes that protoc generates here from the public field numbers
(proto/google/rpc). It prints what it decoded as one JSON object; the C test that runs
it judges the result.

  grpc_client.py error-info TARGET REQUEST_FILE
      calls Submit with the bytes of REQUEST_FILE and decodes the refusal's
      grpc-status-details-bin trailer (google.rpc.Status holding a google.rpc.ErrorInfo)
"""
import json
import os
import subprocess
import sys
import tempfile

import grpc
import grpc_tools

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def generated(workdir):
    """status_pb2 and error_details_pb2, made by the system's protoc."""
    wkt = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    subprocess.run(["protoc", "--python_out=" + workdir, "-I", os.path.join(SOURCE_DIR, "proto"),
                    "-I", wkt, "google/rpc/status.proto", "google/rpc/error_details.proto"],
                   check=True)
    sys.path.insert(0, workdir)
    from google.rpc import error_details_pb2, status_pb2  # noqa: E402 (made just above)
    return status_pb2, error_details_pb2


def error_info(target, request_file):
    with open(request_file, "rb") as f:
        request = f.read()
    with tempfile.TemporaryDirectory() as workdir:
        status_pb2, error_details_pb2 = generated(workdir)
        with grpc.insecure_channel(target) as channel:
            submit = channel.unary_unary("/custos.v1.AttestationGateway/Submit")
            try:
                submit(request, timeout=10)
            except grpc.RpcError as e:
                trailers = {k: v for k, v in (e.trailing_metadata() or ())}
                raw = trailers.get("grpc-status-details-bin")
                out = {"grpcCode": e.code().value[0], "grpcDetails": e.details(),
                       "custosReason": trailers.get("custos-reason"), "hasDetails": raw is not None}
                if raw is not None:
                    status = status_pb2.Status.FromString(raw)
                    out["code"] = status.code
                    out["message"] = status.message
                    out["typeUrls"] = [d.type_url for d in status.details]
                    info = error_details_pb2.ErrorInfo()
                    out["unpacked"] = len(status.details) == 1 and status.details[0].Unpack(info)
                    out["reason"] = info.reason
                    out["domain"] = info.domain
                    out["metadata"] = dict(info.metadata)
                print(json.dumps(out, sort_keys=True))
                return 0
    print(json.dumps({"error": "Submit was not refused"}))
    return 1


def main(argv):
    if len(argv) == 4 and argv[1] == "error-info":
        return error_info(argv[2], argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
