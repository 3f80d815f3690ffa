#!/usr/bin/env python3
# Writes crates/errand-admin/src/http/openapi.json, the admin API's OpenAPI
# document: edit the operations below with the routes, then run it. The
# route test checks the document lists exactly the router's routes.
import json
S=lambda t,**k: dict(type=t,**k)
opt=lambda t: {"type":[t,"null"]}
states=["scheduled","available","running","completed","retrying","failed","cancelled"]
schemas={
 "Error":{"type":"object","required":["error"],"properties":{"error":{"type":"object","required":["kind","message"],"properties":{
   "kind":{"type":"string","enum":["invalid","not_found","conflict","unavailable","backend","timeout","unauthorized","read_only","forbidden","method_not_allowed"]},
   "field":S("string",description="The field, parameter or header rejected."),"value":S("string",description="The value as given."),"message":S("string")}}}},
 "JobState":{"type":"string","enum":states},
 "AttemptError":{"type":"object","properties":{"attempt":S("integer"),"at":S("string",format="date-time"),"kind":S("string"),"message":S("string")}},
 "JobRow":{"type":"object","required":["id","kind","queue","state"],"properties":{
   "id":S("integer"),"kind":S("string"),"queue":S("string"),"priority":S("integer"),"tenant":opt("string"),"input":{},"output":{},
   "errors":{"type":"array","items":{"$ref":"#/components/schemas/AttemptError"}},"state":{"$ref":"#/components/schemas/JobState"},
   "attempt":S("integer"),"max_attempts":S("integer"),"run_at":S("string",format="date-time"),"created_at":S("string",format="date-time"),
   "started_at":opt("string"),"finished_at":opt("string"),"lease_until":opt("string"),"worker":opt("string"),"unique_key":opt("string"),
   "batch_id":opt("integer"),"cron":{},"meta":{"type":"object","additionalProperties":S("string")},"cancel_requested":S("boolean")}},
 "JobDetail":{"allOf":[{"$ref":"#/components/schemas/JobRow"},{"type":"object","properties":{"waiting_on":{"type":"array","description":"What holds a waiting job: reason run_at, paused, no_worker or limit.",
   "items":{"type":"object","properties":{"reason":S("string",enum=["run_at","paused","no_worker","limit"]),"message":S("string")}}}}}]},
 "JobsPage":{"type":"object","properties":{"jobs":{"type":"array","items":{"$ref":"#/components/schemas/JobRow"}},"next_before":opt("integer")}},
 "JobAction":{"type":"object","properties":{"id":S("integer"),"result":S("string",enum=["enqueued","duplicate","retried","cancelled","cancel_requested","deleted","run_now"])}},
 "EnqueueRequest":{"type":"object","required":["kind"],"additionalProperties":False,"properties":{"kind":S("string"),"input":{},"queue":S("string"),"priority":S("integer"),
   "run_at":S("string",format="date-time"),"delay":S("string",description="A duration such as 10s or 5m; not with run_at."),"max_attempts":S("integer",minimum=1),
   "unique_key":S("string"),"tenant":S("string"),"meta":{"type":"object","additionalProperties":S("string")},
   "allow_unknown_kind":S("boolean",description="Enqueue even when live workers exist and none registers the kind for the queue.")}},
 "RetryFilter":{"type":"object","additionalProperties":False,"description":"At least one filter, or all: true.","properties":{"state":{"$ref":"#/components/schemas/JobState"},"kind":S("string"),"queue":S("string"),
   "tenant":S("string"),"batch_id":S("integer"),"error_contains":S("string"),"all":S("boolean")}},
 "RetryMatching":{"type":"object","properties":{"retried":S("integer"),"skipped":S("integer")}},
 "Stats":{"type":"object","properties":{"counts":{"type":"array","items":{"type":"object","properties":{"queue":S("string"),"state":{"$ref":"#/components/schemas/JobState"},"tenant":S("string",description="Set only when counted per tenant."),"count":S("integer")}}}}},
 "TenantsPage":{"type":"object","properties":{"tenants":{"type":"array","items":{"type":"object","properties":{"tenant":S("string"),
   "paused":{"anyOf":[{"$ref":"#/components/schemas/Pause"},{"type":"null"}]},"counts":{"type":"object","additionalProperties":S("integer")},"total":S("integer")}}},
   "next_after":opt("string")}},
 "Pause":{"type":"object","properties":{"scope":S("string",enum=["all","queue","tenant"]),"name":S("string"),"by":S("string"),"note":opt("string"),"at":S("string",format="date-time")}},
 "PauseRequest":{"type":"object","additionalProperties":False,"properties":{"tenant":S("string"),"note":S("string"),"by":S("string")}},
 "Paused":{"type":"object","properties":{"pause":{"$ref":"#/components/schemas/Pause"},"already_paused":S("boolean")}},
 "Resumed":{"type":"object","properties":{"resumed":S("boolean"),"pause":{"anyOf":[{"$ref":"#/components/schemas/Pause"},{"type":"null"}]}}},
 "QueuesBody":{"type":"object","properties":{"queues":{"type":"array","items":{"type":"object","properties":{"queue":S("string"),
   "paused":{"anyOf":[{"$ref":"#/components/schemas/Pause"},{"type":"null"}]},"counts":{"type":"object","additionalProperties":S("integer")},"due":S("integer"),"oldest_due_at":opt("string")}}},
   "pauses":{"type":"array","items":{"$ref":"#/components/schemas/Pause"}}}},
 "Batch":{"type":"object","properties":{"id":S("integer"),"tenant":opt("string"),"counts":{"type":"object"},"sealed":S("boolean"),"created_at":S("string"),"finished_at":opt("string"),"cancelled_at":opt("string"),"continuations":{"type":"array","items":{"type":"object"}}}},
 "BatchesPage":{"type":"object","properties":{"batches":{"type":"array","items":{"$ref":"#/components/schemas/Batch"}},"next_before":opt("integer")}},
 "BatchTotals":{"type":"object"},
 "BatchCancelled":{"type":"object","properties":{"id":S("integer"),"outcome":{"type":"object","properties":{"cancelled":S("integer"),"signalled":S("integer"),"finished":S("integer")}}}},
 "CronEntry":{"type":"object","properties":{"name":S("string"),"tenant":opt("string"),"kind":S("string"),"schedule":S("string"),"zone":S("string"),"input":{},"enabled":S("boolean"),"note":opt("string"),"next_fire_at":opt("string"),"last_fire_at":opt("string")}},
 "CronEntryRequest":{"type":"object","required":["name","kind","schedule"],"additionalProperties":False,"properties":{"name":S("string"),"tenant":S("string"),"kind":S("string"),"schedule":S("string"),"zone":S("string"),"input":{},
   "queue":S("string"),"priority":S("integer"),"max_attempts":S("integer"),"overlap":S("string",enum=["allow","skip","buffer_one"]),"missed":S("string",description="skip, coalesce or catch_up:N")}},
 "CronRemoved":{"type":"object","properties":{"name":S("string"),"tenant":opt("string"),"result":S("string")}},
 "CronTriggered":{"type":"object","properties":{"name":S("string"),"tenant":opt("string"),"job":S("integer")}},
 "FireTime":{"type":"object","properties":{"utc":S("string",format="date-time"),"local":S("string")}},
 "LedgerRecord":{"type":"object"},
 "PruneRequest":{"type":"object","additionalProperties":False,"properties":{"completed":S("string"),"failed":S("string"),"cancelled":S("string"),"batches":S("string"),"audit":S("string"),"dry_run":S("boolean")}},
 "PruneReport":{"type":"object","properties":{"dry_run":S("boolean"),"pruned":{"type":"array","items":{"type":"object","properties":{"what":S("string"),"finished_before":opt("string"),"count":S("integer")}}}}},
 "ProcessNow":{"type":"object","properties":{"woken":S("integer")}},
 "Overview":{"type":"object","properties":{"at":S("string",format="date-time"),"counts":{"type":"object","additionalProperties":S("integer")},"queues":{"$ref":"#/components/schemas/QueuesBody"},"workers":{"$ref":"#/components/schemas/WorkersBody"},
   "samples":{"type":"array","items":{"type":"object","properties":{"at":S("string",format="date-time"),"seconds":S("number"),"completed":S("integer"),"failed":S("integer")}}}}},
 "AuditRecord":{"type":"object","properties":{"id":S("integer"),"at":S("string",format="date-time"),"actor":S("string"),"action":S("string"),"target":opt("string"),"filter":{},"count":S("integer")}},
 "AuditPage":{"type":"object","properties":{"records":{"type":"array","items":{"$ref":"#/components/schemas/AuditRecord"}},"next_before":opt("integer")}},
 "DrainSummary":{"type":"object","properties":{k:S("integer") for k in ["completed","retried","failed","cancelled","snoozed","stale"]}},
 "WorkerRow":{"type":"object","properties":{"name":S("string"),"host":S("string"),"pid":S("integer"),"queues":{"type":"array","items":S("string")},"kinds":{"type":"array","items":S("string")},
   "concurrency":S("integer"),"running":S("integer"),"started_at":S("string",format="date-time"),"beat_at":S("string",format="date-time"),"loops":{"type":"array","items":{}},"alive":S("boolean")}},
 "WorkersBody":{"type":"object","properties":{"workers":{"type":"array","items":{"$ref":"#/components/schemas/WorkerRow"}},"alive":S("integer")}},
 "Session":{"type":"object","properties":{"csrf_token":S("string"),"read_only":S("boolean"),"token_required":S("boolean")}},
 "Health":{"type":"object","properties":{"status":S("string"),"backend":S("string"),"store_reachable":S("boolean"),"workers_alive":S("integer"),"error":S("string")}},
}
ref=lambda n: {"$ref":"#/components/schemas/"+n}
arr=lambda n: {"type":"array","items":ref(n)}
def q(name,t="string",d=""): return {"name":name,"in":"query","required":False,"schema":{"type":t},"description":d}
def p(name,t="string"): return {"name":name,"in":"path","required":True,"schema":{"type":t}}
tenant=q("tenant",d="Only this tenant's.")
jobq=[dict(q("state",d="A public state."),schema=ref("JobState")),q("kind"),q("queue"),tenant,q("batch","integer"),q("unique_key"),q("id","integer"),q("error",d="Text in an attempt error."),q("before","integer",d="The next_before of the page before."),q("limit","integer",d="1 to 10,000 (default 50).")]
ops=[
 ("GET","/health","Store reachable (503 when not)",[],None,ref("Health")),
 ("GET","/metrics","Prometheus text exposition",[],None,None),
 ("GET","/api/openapi.json","This document",[],None,{"type":"object"}),
 ("GET","/api/session","CSRF token and access mode for a page",[],None,ref("Session")),
 ("GET","/api/overview","The dashboard's overview: counts, queues with lag, workers, finished jobs per interval (read once per 2 s, shared by every caller)",[],None,ref("Overview")),
 ("GET","/api/stats","Job counts per queue and state",[tenant],None,ref("Stats")),
 ("GET","/api/queues","Queues: counts, lag, pauses",[],None,ref("QueuesBody")),
 ("POST","/api/queues/{queue}/pause","Pause a queue",[p("queue")],{"type":"object","properties":{"note":S("string"),"by":S("string")},"additionalProperties":False},ref("Paused")),
 ("POST","/api/queues/{queue}/resume","Resume a queue",[p("queue")],None,ref("Resumed")),
 ("GET","/api/tenants","Tenants with jobs or a pause, by name: their jobs by state, their pause",[q("after",d="The next_after of the page before."),q("limit","integer",d="1 to 1,000 (default 100).")],None,ref("TenantsPage")),
 ("GET","/api/pauses","Every pause in force",[],None,arr("Pause")),
 ("POST","/api/pause","Pause everything, or one tenant",[],ref("PauseRequest"),ref("Paused")),
 ("POST","/api/resume","Resume everything, or one tenant",[],{"type":"object","properties":{"tenant":S("string")},"additionalProperties":False},ref("Resumed")),
 ("GET","/api/jobs","Jobs, newest first, with filters and keyset paging",jobq,None,ref("JobsPage")),
 ("POST","/api/jobs","Enqueue a job by kind",[],ref("EnqueueRequest"),ref("JobAction")),
 ("POST","/api/jobs/retry","Retry every finished job a filter matches",[],ref("RetryFilter"),ref("RetryMatching")),
 ("GET","/api/jobs/{id}","One job with input, output, errors and what holds it if it waits",[p("id","integer")],None,ref("JobDetail")),
 ("DELETE","/api/jobs/{id}","Delete a job that is not running",[p("id","integer")],None,ref("JobAction")),
 ("POST","/api/jobs/{id}/retry","Run a finished job again",[p("id","integer")],None,ref("JobAction")),
 ("POST","/api/jobs/{id}/cancel","Cancel a waiting job or stop a running one",[p("id","integer")],None,ref("JobAction")),
 ("POST","/api/jobs/{id}/run_now","Make a waiting job due now",[p("id","integer")],None,ref("JobAction")),
 ("GET","/api/batches","Batches, newest first",[tenant,q("before","integer"),q("limit","integer",d="1 to 1,000 (default 50).")],None,ref("BatchesPage")),
 ("GET","/api/batches/totals","Batches summed",[tenant],None,ref("BatchTotals")),
 ("GET","/api/batches/{id}","One batch",[p("id","integer")],None,ref("Batch")),
 ("POST","/api/batches/{id}/cancel","Cancel a batch",[p("id","integer")],None,ref("BatchCancelled")),
 ("GET","/api/cron","Cron entries",[tenant,q("kind"),q("enabled","boolean"),q("limit","integer")],None,arr("CronEntry")),
 ("POST","/api/cron","Create a cron entry",[],ref("CronEntryRequest"),ref("CronEntry")),
 ("GET","/api/cron/{name}","One cron entry",[p("name"),tenant],None,ref("CronEntry")),
 ("DELETE","/api/cron/{name}","Remove a cron entry",[p("name"),tenant],None,ref("CronRemoved")),
 ("POST","/api/cron/{name}/enable","Enable a cron entry",[p("name"),tenant],None,ref("CronEntry")),
 ("POST","/api/cron/{name}/disable","Disable a cron entry, with a note",[p("name"),tenant],{"type":"object","properties":{"note":S("string")},"additionalProperties":False},ref("CronEntry")),
 ("POST","/api/cron/{name}/trigger","Enqueue the entry's job now",[p("name"),tenant],None,ref("CronTriggered")),
 ("GET","/api/cron/{name}/next","Next fire times",[p("name"),tenant,q("count","integer"),q("from")],None,arr("FireTime")),
 ("GET","/api/cron/{name}/ledger","Latest fire decisions",[p("name"),tenant,q("limit","integer")],None,arr("LedgerRecord")),
 ("GET","/api/workers","Worker processes and their heartbeats",[],None,ref("WorkersBody")),
 ("GET","/api/audit","Operators' changes, newest first",[q("before","integer"),q("limit","integer")],None,ref("AuditPage")),
 ("POST","/api/prune","Delete what is past its retention (dry_run counts)",[],ref("PruneRequest"),ref("PruneReport")),
 ("POST","/api/process_now","Wake this process's workers",[],None,ref("ProcessNow")),
 ("POST","/api/drain","Process what is due now, in this call",[],None,ref("DrainSummary")),
]
err=lambda d: {"description":d,"content":{"application/json":{"schema":ref("Error")}}}
paths={}
for m,path,summ,params,body,resp in ops:
    op={"summary":summ,"operationId":(m.lower()+path.replace("/api","").replace("/","_").replace("{","").replace("}","").replace(".","_")).strip("_"),"parameters":params,"responses":{}}
    ok="201" if (m=="POST" and path in ("/api/jobs","/api/cron")) else "200"
    if path=="/metrics": op["responses"]["200"]={"description":"OK","content":{"text/plain":{"schema":{"type":"string"}}}}
    else: op["responses"][ok]={"description":"OK","content":{"application/json":{"schema":resp}}}
    if body: op["requestBody"]={"required":False,"content":{"application/json":{"schema":body}}}
    op["responses"]["400"]=err("Bad input: the error names the field and the value; nothing changed")
    op["responses"]["401"]=err("No valid bearer token")
    if m!="GET":
        op["responses"]["403"]=err("Read-only mode, or a mutation without the CSRF token")
        op["responses"]["409"]=err("Not allowed in the current state")
    if "{" in path: op["responses"]["404"]=err("No such job, batch or entry")
    paths.setdefault(path,{})[m.lower()]=op
doc={"openapi":"3.1.0","info":{"title":"errand admin API","version":"0.1.0","description":"Every operation of the errand CLI as JSON. Authenticate with Authorization: Bearer <token>; without a token the API serves loopback hosts only and mutations need the x-csrf-token header from GET /api/session. A caller may name itself for the audit in the x-errand-actor header."},
 "components":{"schemas":schemas,"securitySchemes":{"bearer":{"type":"http","scheme":"bearer"}}},"security":[{"bearer":[]}],"paths":paths}
open(__import__("os").path.join(__import__("os").path.dirname(__file__), "..", "crates/errand-admin/src/http/openapi.json"), "w").write(json.dumps(doc,indent=1)+"\n")
