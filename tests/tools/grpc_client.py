#!/usr/bin/python3
"""An independent client of the gateway: Python grpcio and Google's protobuf runtime, with
message classes that protoc generates here from the public field numbers
(proto/google/rpc). It prints what it decoded as one JSON object; the C test that runs
it judges the result.

  grpc_client.py error-info TARGET REQUEST_FILE
      calls Submit with the bytes of REQUEST_FILE and decodes the refusal's
      grpc-status-details-bin trailer (google.rpc.Status holding a google.rpc.ErrorInfo)
  grpc_client.py reflection TARGET v1alpha|v1
      lists the services through server reflection, loads the descriptors of every one
      of them (and their imports) into a fresh descriptor pool, asks for a symbol that
      does not exist, and calls GetChainHead with messages built from the pool alone
  grpc_client.py health-watch TARGET SERVICE COUNT SECONDS
      calls grpc.health.v1.Health/Watch for SERVICE and prints one line per status
      received ({"status": "SERVING"}, flushed at once) until COUNT have come or SECONDS
      have passed, then {"done": N}; the messages are written and read by hand from the
      health protocol's field numbers, no generated code
"""
import importlib.util
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


def reflection(target, version):
    from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
    proto = "grpc/reflection/%s/reflection.proto" % version
    with tempfile.TemporaryDirectory() as workdir:
        subprocess.run(["protoc", "--python_out=" + workdir, "-I", "/usr/share/grpc-proto", proto],
                       check=True)
        # Loaded from its file: its package path would clash with grpcio's own "grpc".
        spec = importlib.util.spec_from_file_location(
            "reflection_pb2", os.path.join(workdir, "grpc/reflection/%s/reflection_pb2.py" % version))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    Request = module.ServerReflectionRequest
    Response = module.ServerReflectionResponse
    method = "/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % version
    out = {}
    with grpc.insecure_channel(target) as channel:
        info = channel.stream_stream(method, request_serializer=Request.SerializeToString,
                                     response_deserializer=Response.FromString)

        def ask(request):
            answers = list(info(iter([request]), timeout=10))
            if len(answers) != 1:
                raise SystemExit("expected one answer, got %d" % len(answers))
            return answers[0]

        listed = ask(Request(list_services=""))
        services = [s.name for s in listed.list_services_response.service]
        out["services"] = services
        pool = descriptor_pool.DescriptorPool()
        added = set()
        for name in services:
            answer = ask(Request(file_containing_symbol=name))
            if answer.WhichOneof("message_response") != "file_descriptor_response":
                raise SystemExit("no descriptors for %s: %s" % (name, answer))
            protos = [descriptor_pb2.FileDescriptorProto.FromString(b)
                      for b in answer.file_descriptor_response.file_descriptor_proto]
            # Imports first: a pool takes a file only after those it imports.
            for fdp in reversed(protos):
                if fdp.name not in added:
                    pool.Add(fdp)
                    added.add(fdp.name)
        out["files"] = sorted(added)
        out["methods"] = {name: [m.name for m in pool.FindServiceByName(name).methods]
                          for name in services}
        missing = ask(Request(file_containing_symbol="custos.v1.NoSuchThing"))
        out["missingError"] = missing.error_response.error_code
        by_name = ask(Request(file_by_filename="custos/v1/gateway.proto"))
        out["byFilename"] = [descriptor_pb2.FileDescriptorProto.FromString(b).name
                             for b in by_name.file_descriptor_response.file_descriptor_proto]
        # A call made from the reflected descriptors alone, as grpcurl does.
        rpc = pool.FindServiceByName("custos.v1.AttestationGateway").methods_by_name["GetChainHead"]
        factory = message_factory.MessageFactory(pool)
        req_class = factory.GetPrototype(rpc.input_type)
        resp_class = factory.GetPrototype(rpc.output_type)
        call = channel.unary_unary("/custos.v1.AttestationGateway/GetChainHead",
                                   request_serializer=req_class.SerializeToString,
                                   response_deserializer=resp_class.FromString)
        head = call(req_class(), timeout=10)
        out["chainHead"] = json_format.MessageToDict(head, preserving_proto_field_name=True)
        out["chainHeadFields"] = sorted(f.name for f in rpc.output_type.fields)
    print(json.dumps(out, sort_keys=True))
    return 0


HEALTH_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def health_watch(target, service, count, seconds):
    name = service.encode()
    # HealthCheckRequest: field 1 (service), length-delimited; names here are under 128 bytes.
    request = (b"\x0a" + bytes([len(name)]) + name) if name else b""
    received = 0
    with grpc.insecure_channel(target) as channel:
        watch = channel.unary_stream("/grpc.health.v1.Health/Watch")
        try:
            for reply in watch(request, timeout=seconds):
                # HealthCheckResponse: field 1 (status), varint; absent when 0.
                status = reply[1] if reply[:1] == b"\x08" and len(reply) == 2 else 0
                print(json.dumps({"status": HEALTH_STATUS.get(status, str(status))}), flush=True)
                received += 1
                if received == count:
                    break
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                print(json.dumps({"error": str(e.code())}), flush=True)
                return 1
    print(json.dumps({"done": received}), flush=True)
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "reflection" and argv[3] in ("v1alpha", "v1"):
        return reflection(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "error-info":
        return error_info(argv[2], argv[3])
    if len(argv) == 6 and argv[1] == "health-watch":
        return health_watch(argv[2], argv[3], int(argv[4]), float(argv[5]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
