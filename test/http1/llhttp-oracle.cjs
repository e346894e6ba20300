// The reference parser of the differential fuzzer: Node's llhttp (the HTTP/1 parser of Node's
// http module), run as ONE long-lived `node` process. Reads cases as JSON lines on stdin,
// {"id":1,"data":"<base64>"}, parses each as a stream of requests with a fresh parser, and answers
// a JSON line {"id":1,"messages":[...],"status":"ok"|"incomplete"|"error"|"upgrade","error":"..."}.
// Every message: method, url (or status for a response), version minor, headers as [name, value]
// pairs, body (latin1), keepAlive. {"kind":"response"} parses answers instead; the end of the
// input is then the server's close (a body without length ends there). Node's own flags (no --insecure-http-parser) are llhttp's strict defaults.
"use strict";
const { HTTPParser, methods } = process.binding("http_parser");
const readline = require("node:readline");

function parse(data, response) {
  const parser = new HTTPParser();
  parser.initialize(response ? HTTPParser.RESPONSE : HTTPParser.REQUEST, {}, 0, 0);
  const messages = [];
  let current;
  let pendingHeaders = [];
  let url = "";
  parser[HTTPParser.kOnHeaders] = (headers, u) => {
    pendingHeaders = pendingHeaders.concat(headers);
    url += u;
  };
  parser[HTTPParser.kOnHeadersComplete] = (major, minor, headers, method, u, statusCode, _text, upgrade, keepAlive) => {
    const flat = headers === undefined ? pendingHeaders : pendingHeaders.concat(headers);
    const pairs = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]]);
    current = { status: statusCode, method: methods[method], url: u === undefined ? url : url + u, major, minor, headers: pairs, body: "", complete: false, upgrade: !!upgrade, keepAlive: !!keepAlive };
    messages.push(current);
    pendingHeaders = [];
    url = "";
    return 0;
  };
  parser[HTTPParser.kOnBody] = (chunk) => {
    current.body += chunk.toString("latin1");
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    current.complete = true;
    // Trailer fields come through kOnHeaders too (with a stale url): they are not the next head's.
    pendingHeaders = [];
    url = "";
  };
  parser[HTTPParser.kOnExecute] = () => {};
  let result = parser.execute(data);
  if (response && !(result instanceof Error)) {
    const end = parser.finish();
    if (end instanceof Error) result = end;
  }
  let status = "ok";
  let error;
  if (result instanceof Error) {
    status = "error";
    error = `${result.code} ${result.reason}`;
  } else if (messages.length > 0 && messages[messages.length - 1].upgrade) {
    status = "upgrade";
  } else if (result !== data.length || (messages.length > 0 && !messages[messages.length - 1].complete) || parser.finish() instanceof Error) {
    status = "incomplete";
  }
  parser.close?.();
  return { messages, status, error };
}

// A partial request at the end (no more bytes yet) is "incomplete", as it is for tenbin; llhttp
// tells it by leaving the last message open or by having consumed a part of a head.
const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line === "") return;
  const { id, data, kind } = JSON.parse(line);
  const bytes = Buffer.from(data, "base64");
  let answer;
  try {
    answer = { id, ...parse(bytes, kind === "response") };
  } catch (error) {
    answer = { id, messages: [], status: "error", error: `oracle threw: ${error}` };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
});
