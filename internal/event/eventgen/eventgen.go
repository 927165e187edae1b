// Package eventgen writes synthetic but valid vendor sign-in documents, one
// JSON document per line, for tests and benchmarks of the decoder and of
// `consumer replay`. Only tests, benchmarks and the generator program in
// internal/event/testdata/genjsonl import it.
//
// The documents follow the samples of internal/event/testdata, compacted
// to about 1 KiB each, in every supported format: Okta LogEvent, Entra
// sign-in and risk detection records, OCSF Authentication and Detection
// Finding, ECS, Elastic Security alert, 1Password sign-in attempt, Google
// Workspace login activity, CloudTrail ConsoleLogin, GuardDuty finding in
// its EventBridge envelope, and the Splunk and Panther webhooks. Users,
// ids, times (in the day before Config.Now), risk and outcome vary, and so
// does how vendors write them: numbers sent as strings ("85"), booleans as
// "true", risk scores outside 0-100, risk words tripline does not know,
// times in other common layouts (RFC 3339 with and without fraction or
// zone, "2006-01-02 15:04:05", epoch seconds or milliseconds as a number or
// a string). Every document decodes without error.
package eventgen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

// Config configures a Generator. Zero values select the defaults.
type Config struct {
	// Seed seeds the random choices; the same Config gives the same lines.
	Seed uint64
	// Now is the end of the day the event times fall in (default: the
	// time New is called, truncated to the second).
	Now time.Time
	// Users is the number of distinct users (default 2,000).
	Users int
	// Step is how far each document's time moves on from the previous
	// one's (default 432ms: 200,000 documents span a day), starting a day
	// before Now and wrapping around to stay in that day.
	Step time.Duration
	// Jitter is how much earlier than its place in the sequence a
	// document's time may be, at random, as in a real stream (default two
	// minutes).
	Jitter time.Duration
}

// Generator makes documents. It is not safe for concurrent use.
type Generator struct {
	r      *rand.Rand
	now    time.Time
	users  int
	step   time.Duration
	jitter time.Duration
	n      int
}

// New returns a Generator.
func New(cfg Config) *Generator {
	if cfg.Now.IsZero() {
		cfg.Now = time.Now().UTC().Truncate(time.Second)
	}
	if cfg.Users <= 0 {
		cfg.Users = 2000
	}
	if cfg.Step <= 0 {
		cfg.Step = 432 * time.Millisecond
	}
	if cfg.Jitter <= 0 {
		cfg.Jitter = 2 * time.Minute
	}
	return &Generator{r: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), now: cfg.Now.UTC(),
		users: cfg.Users, step: cfg.Step, jitter: cfg.Jitter}
}

// Shapes names the document shapes the Generator cycles through, in order.
// Each document is about one user picked at random.
var Shapes = []string{
	"okta", "entra-signin", "ocsf-3002", "ecs", "1password", "gws", "cloudtrail",
	"elastic-alert", "ocsf-2004", "entra-risk", "guardduty", "splunk", "panther",
}

// Append appends the next document (without a newline) to dst.
func (g *Generator) Append(dst []byte) []byte {
	shape := g.n % len(Shapes)
	g.n++
	v := g.vary()
	switch Shapes[shape] {
	case "okta":
		return g.okta(dst, v)
	case "entra-signin":
		return g.entraSignIn(dst, v)
	case "ocsf-3002":
		return g.ocsfAuth(dst, v)
	case "ecs":
		return g.ecs(dst, v)
	case "1password":
		return g.onePassword(dst, v)
	case "gws":
		return g.gws(dst, v)
	case "cloudtrail":
		return g.cloudTrail(dst, v)
	case "elastic-alert":
		return g.elasticAlert(dst, v)
	case "ocsf-2004":
		return g.ocsfFinding(dst, v)
	case "entra-risk":
		return g.entraRisk(dst, v)
	case "guardduty":
		return g.guardDuty(dst, v)
	case "splunk":
		return g.splunk(dst, v)
	}
	return g.panther(dst, v)
}

// WriteLines writes n documents to w, one per line.
func WriteLines(w io.Writer, n int, cfg Config) error {
	g := New(cfg)
	bw := bufio.NewWriterSize(w, 1<<16)
	buf := make([]byte, 0, 4096)
	for range n {
		buf = append(g.Append(buf[:0]), '\n')
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("write lines: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write lines: %w", err)
	}
	return nil
}

// varied holds what one document is about.
type varied struct {
	user, first, last, login   string // email, name parts, login before the @
	userID                     string
	id                         string // a UUID
	at                         time.Time
	ip                         string
	country, countryName, city string
	level                      int  // 0 none .. 4 critical
	score                      int  // 0-100, matching level
	success                    bool // the sign-in succeeded
	odd                        int  // 0-9: which vendor oddity to use
}

var (
	firstNames = []string{"dana", "li", "maria", "ahmed", "olga", "kenji", "sara", "tomas", "nia", "raj", "ines", "piotr"}
	lastNames  = []string{"reyes", "wei", "santos", "khan", "ivanova", "sato", "cohen", "novak", "okafor", "patel", "garcia", "kowalski"}
	places     = []struct{ code, name, city string }{
		{"RO", "Romania", "Bucharest"}, {"US", "United States", "Seattle"}, {"DE", "Germany", "Berlin"},
		{"FR", "France", "Paris"}, {"JP", "Japan", "Tokyo"}, {"BR", "Brazil", "Sao Paulo"},
		{"GB", "United Kingdom", "London"}, {"IN", "India", "Mumbai"},
	}
	levelWords = []string{"none", "low", "medium", "high", "critical"}
	levelUpper = []string{"NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
	// oddWords are risk words tripline does not know: they normalize to
	// unknown.
	oddWords = []string{"elevated", "Sev-2", "MEDIUM_HIGH", "suspicious", "P1"}
)

const userAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36"

func (g *Generator) vary() varied {
	r := g.r
	const day = 24 * time.Hour
	at := g.now.Add(-day + time.Duration(g.n)*g.step%day - time.Duration(r.Int64N(int64(g.jitter))))
	u := r.IntN(g.users)
	first, last := firstNames[u%len(firstNames)], lastNames[(u/len(firstNames))%len(lastNames)]
	login := first + "." + last + strconv.Itoa(u)
	p := places[r.IntN(len(places))]
	level := []int{0, 1, 1, 1, 2, 2, 3, 3, 4}[r.IntN(9)]
	score := []int{0, 10, 45, 75, 92}[level] + r.IntN(8)
	return varied{
		user: login + "@example.com", first: first, last: last, login: login,
		userID:  fmt.Sprintf("00u%016x", uint64(u)*0x9e3779b97f4a7c15>>1),
		id:      g.uuid(),
		at:      at.Truncate(time.Millisecond),
		ip:      fmt.Sprintf("203.0.%d.%d", r.IntN(256), 1+r.IntN(254)),
		country: p.code, countryName: p.name, city: p.city,
		level: level, score: score, success: r.IntN(3) != 0, odd: r.IntN(10),
	}
}

func (g *Generator) uuid() string {
	a, b := g.r.Uint64(), g.r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, 0x8000|b>>48&0x3fff, b&0xffffffffffff)
}

// ts writes the time in one of several layouts vendors use; the result
// is a JSON value (a quoted string or a bare number).
func ts(t time.Time, style int) string {
	switch style % 10 {
	case 1:
		return `"` + t.Format(time.RFC3339) + `"`
	case 2:
		return `"` + t.In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05.000-07:00") + `"`
	case 3:
		return `"` + t.Format("2006-01-02T15:04:05") + `"`
	case 4:
		return `"` + t.Format("2006-01-02 15:04:05") + `"`
	case 5:
		return strconv.FormatInt(t.Unix(), 10)
	case 6:
		return strconv.FormatInt(t.UnixMilli(), 10)
	case 7:
		return `"` + strconv.FormatInt(t.Unix(), 10) + `"`
	case 8:
		return `"` + strconv.FormatInt(t.UnixMilli(), 10) + `"`
	}
	return `"` + t.Format("2006-01-02T15:04:05.000Z07:00") + `"`
}

// num writes n as a number, or as a string holding it when odd says so.
func num(n int, asString bool) string {
	if asString {
		return `"` + strconv.Itoa(n) + `"`
	}
	return strconv.Itoa(n)
}

// boolean writes b as a JSON boolean, or as "true"/"false" when asString.
func boolean(b, asString bool) string {
	s := strconv.FormatBool(b)
	if asString {
		return `"` + s + `"`
	}
	return s
}

func (v varied) levelWord(upper bool) string {
	if v.odd == 9 {
		return oddWords[v.score%len(oddWords)]
	}
	if upper {
		return levelUpper[v.level]
	}
	return levelWords[v.level]
}

// oddScore is the risk score, sometimes out of 0-100 (clamped when decoded).
func (v varied) oddScore() int {
	switch v.odd {
	case 7:
		return v.score + 50
	case 8:
		return -5
	}
	return v.score
}

func (g *Generator) okta(dst []byte, v varied) []byte {
	result, reason := "SUCCESS", "null"
	if !v.success {
		result, reason = "FAILURE", `"INVALID_CREDENTIALS"`
	}
	return fmt.Appendf(dst, `{"uuid":"%s","published":%s,"eventType":"user.session.start","version":"0","severity":"INFO",`+
		`"legacyEventType":"core.user_auth.login_success","displayMessage":"User login to Okta",`+
		`"actor":{"id":"%s","type":"User","alternateId":"%s","displayName":"%s %s","detailEntry":null},`+
		`"client":{"userAgent":{"rawUserAgent":"%s","os":"Windows 10","browser":"CHROME"},"zone":"null","device":"Computer",`+
		`"ipAddress":"%s","geographicalContext":{"city":"%s","country":"%s","geolocation":{"lat":44.43,"lon":26.1}}},`+
		`"authenticationContext":{"authenticationStep":0,"externalSessionId":"102Qb7pX9sLkMnR4tVwYz3aFe"},`+
		`"outcome":{"result":"%s","reason":%s},"securityContext":{"asNumber":%s,"isp":"example hosting srl","isProxy":%s},`+
		`"debugContext":{"debugData":{"requestId":"aQ7xLmN3pR2sT9uV1wXyZ0AAB2c","requestUri":"/idp/idx/authenticators/poll",`+
		`"threatSuspected":%s,"behaviors":"{New Geo-Location=POSITIVE, New Device=NEGATIVE, New IP=POSITIVE}",`+
		`"risk":"{reasons=Anomalous Geo-Distance, Anomalous Device, level=%s}"}},"transaction":{"type":"WEB","id":"aQ7xLmN3pR2sT9uV1wXyZ0AAB2c"},"target":null}`,
		v.id, ts(v.at, v.odd), v.userID, v.user, v.first, v.last, userAgent, v.ip, v.city, v.countryName,
		result, reason, num(64500, v.odd == 3), boolean(v.level >= 3, v.odd%2 == 0), boolean(false, v.odd != 4), v.levelWord(true))
}

func (g *Generator) entraSignIn(dst []byte, v varied) []byte {
	code := 0
	if !v.success {
		code = []int{50126, 50074, 53003}[v.odd%3]
	}
	created := v.at.Format("2006-01-02T15:04:05.0000000+00:00")
	if v.odd >= 7 {
		created = v.at.Format("2006-01-02 15:04:05")
	}
	return fmt.Appendf(dst, `{"records":[{"time":"%s","resourceId":"/tenants/4f8c2a91-3b6d-4e7f-9a0c-1d2e3f4a5b6c/providers/Microsoft.aadiam",`+
		`"operationName":"Sign-in activity","category":"SignInLogs","tenantId":"4f8c2a91-3b6d-4e7f-9a0c-1d2e3f4a5b6c","resultType":"%d",`+
		`"callerIpAddress":"%s","correlationId":"%s","identity":"%s %s","Level":%s,"location":"%s",`+
		`"properties":{"id":"%s","createdDateTime":"%s","userDisplayName":"%s %s","userPrincipalName":"%s","userId":"%s",`+
		`"appDisplayName":"OfficeHome","ipAddress":"%s","status":{"errorCode":%s},"clientAppUsed":"Browser","userAgent":"%s",`+
		`"deviceDetail":{"operatingSystem":"Windows10","browser":"Chrome 129.0.0","isCompliant":%s},`+
		`"location":{"city":"%s","countryOrRegion":"%s","geoCoordinates":{"latitude":44.43,"longitude":26.1}},`+
		`"conditionalAccessStatus":"notApplied","isInteractive":true,"riskDetail":"none","riskLevelAggregated":"%s",`+
		`"riskLevelDuringSignIn":"%s","riskState":"atRisk","riskEventTypes_v2":["anonymizedIPAddress","unfamiliarFeatures"]}}]}`,
		v.at.Format(time.RFC3339Nano), code, v.ip, v.id, v.first, v.last, num(4, v.odd == 5), v.country,
		v.id, created, v.first, v.last, v.user, v.id, v.ip, num(code, v.odd%2 == 1), userAgent, boolean(false, v.odd == 6),
		v.city, v.country, levelWords[max(v.level-1, 0)], v.levelWord(false))
}

func (g *Generator) entraRisk(dst []byte, v varied) []byte {
	return fmt.Appendf(dst, `{"records":[{"time":"%s","resourceId":"/tenants/4f8c2a91-3b6d-4e7f-9a0c-1d2e3f4a5b6c/providers/Microsoft.aadiam",`+
		`"operationName":"User Risk Detection","category":"UserRiskEvents","tenantId":"4f8c2a91-3b6d-4e7f-9a0c-1d2e3f4a5b6c",`+
		`"properties":{"id":"%s","requestId":"%s","correlationId":"%s","riskEventType":"unlikelyTravel","riskState":"atRisk",`+
		`"riskLevel":"%s","riskDetail":"none","source":"IdentityProtection","detectionTimingType":"offline","activity":"signin",`+
		`"ipAddress":"%s","location":{"city":"%s","countryOrRegion":"%s","geoCoordinates":{"latitude":44.43,"longitude":26.1}},`+
		`"activityDateTime":%s,"detectedDateTime":"%s","userId":"%s","userDisplayName":"%s %s","userPrincipalName":"%s",`+
		`"additionalInfo":"[{\"Key\":\"userAgent\",\"Value\":\"%s\"}]","tokenIssuerType":"AzureAD"}}]}`,
		v.at.Format(time.RFC3339Nano), v.id, v.id, v.id, v.levelWord(false), v.ip, v.city, v.country,
		ts(v.at, v.odd), v.at.Format(time.RFC3339), v.id, v.first, v.last, v.user, userAgent)
}

func (g *Generator) ocsfAuth(dst []byte, v varied) []byte {
	status, statusWord := 1, "Success"
	if !v.success {
		status, statusWord = 2, "Failure"
	}
	levelID := []int{0, 1, 2, 3, 4}[v.level]
	return fmt.Appendf(dst, `{"activity_id":1,"activity_name":"Logon","category_uid":3,"class_uid":%s,"class_name":"Authentication",`+
		`"type_uid":300201,"severity_id":%d,"status_id":%s,"status":"%s","status_code":"INVALID_CREDENTIALS",`+
		`"message":"sign-in of %s","time":%s,"is_mfa":%s,"auth_protocol":"OpenID",`+
		`"user":{"uid":"%s","name":"%s","email_addr":"%s","full_name":"%s %s","type":"User","risk_level_id":%s,"risk_score":%s},`+
		`"src_endpoint":{"ip":"%s","location":{"country":"%s","city":"%s","lat":44.43,"long":26.1},"autonomous_system":{"number":64500}},`+
		`"service":{"name":"Okta Dashboard","uid":"0oa1ex4mpl3DashbrdX7"},"http_request":{"user_agent":"%s"},`+
		`"metadata":{"version":"1.3.0","uid":"%s","original_event_uid":"%s","log_name":"okta-system-log","product":{"name":"Okta Identity Cloud","vendor_name":"Okta"}},`+
		`"unmapped":{"eventType":"user.authentication.auth_via_mfa"}}`,
		num(3002, v.odd == 2), 1+v.level, num(status, v.odd == 3), statusWord, v.user, ts(v.at, []int{6, 6, 8, 5, 7, 0, 1, 6, 6, 6}[v.odd]),
		boolean(true, v.odd == 4), v.userID, v.user, v.user, v.first, v.last, num(levelID, v.odd == 5), num(v.oddScore(), v.odd == 6),
		v.ip, v.country, v.city, userAgent, v.id, g.uuid())
}

func (g *Generator) ocsfFinding(dst []byte, v varied) []byte {
	return fmt.Appendf(dst, `{"activity_id":1,"activity_name":"Create","category_uid":2,"class_uid":2004,"class_name":"Detection Finding",`+
		`"type_uid":200401,"severity_id":%d,"status_id":1,"status":"New","risk_level":"%s","risk_score":%s,"is_alert":true,"time":%s,`+
		`"finding_info":{"uid":"det-%s","title":"Impossible travel for %s","types":["Impossible Travel"],`+
		`"analytic":{"name":"impossible_travel","type_id":2,"type":"Behavioral"},"first_seen_time":%d,"last_seen_time":%d},`+
		`"evidences":[{"actor":{"user":{"uid":"%s","email_addr":"%s"}},"src_endpoint":{"ip":"%s","location":{"country":"%s","city":"%s"}}},`+
		`{"src_endpoint":{"ip":"198.51.100.23","location":{"country":"US","city":"Seattle"}}}],`+
		`"metadata":{"version":"1.5.0","uid":"%s","product":{"name":"Example UEBA","vendor_name":"Example"}},"message":"%s"}`,
		1+v.level, v.levelWord(false), num(v.oddScore(), v.odd == 6), ts(v.at, []int{6, 8, 5, 6, 6, 0, 6, 6, 6, 6}[v.odd]),
		v.id, v.user, v.at.UnixMilli()-60000, v.at.UnixMilli(), v.userID, v.user, v.ip, v.country, v.city, g.uuid(), userAgent)
}

func (g *Generator) ecs(dst []byte, v varied) []byte {
	outcome := "success"
	if !v.success {
		outcome = "failure"
	}
	return fmt.Appendf(dst, `{"@timestamp":%s,"ecs":{"version":"8.11.0"},"message":"sign-in of %s",`+
		`"event":{"kind":"event","category":["authentication"],"type":["start","info"],"action":"user.session.start","outcome":"%s",`+
		`"id":"%s","module":"okta","dataset":"okta.system","provider":"okta","risk_score_norm":%s,"created":"%s"},`+
		`"user":{"id":"%s","name":"%s","email":"%s","full_name":"%s %s","domain":"example.com"},`+
		`"source":{"ip":"%s","geo":{"country_iso_code":"%s","country_name":"%s","city_name":"%s","location":{"lat":44.43,"lon":26.1}},"as":{"number":%s}},`+
		`"user_agent":{"original":"%s"},"related":{"ip":["%s"],"user":["%s","%s"]},`+
		`"okta":{"actor":{"alternate_id":"%s","id":"%s","type":"User"},"security_context":{"is_proxy":%s},`+
		`"debug_context":{"debug_data":{"risk_level":"%s","threat_suspected":"false"}}},"tags":["forwarded","okta-system"]}`,
		ts(v.at, []int{0, 1, 2, 3, 4, 6, 0, 0, 0, 0}[v.odd]), v.user, outcome, v.id, num(v.oddScore(), v.odd == 6), v.at.Add(2*time.Second).Format(time.RFC3339Nano),
		v.userID, v.login, v.user, v.first, v.last, v.ip, v.country, v.countryName, v.city, num(64500, v.odd == 3),
		userAgent, v.ip, v.login, v.user, v.user, v.userID, boolean(v.level >= 3, v.odd%2 == 1), v.levelWord(true))
}

func (g *Generator) elasticAlert(dst []byte, v varied) []byte {
	outcome := "success"
	if !v.success {
		outcome = "failure"
	}
	return fmt.Appendf(dst, `{"@timestamp":"%s","event.kind":"signal","kibana.alert.uuid":"%s","kibana.alert.status":"active",`+
		`"kibana.alert.workflow_status":"open","kibana.alert.severity":"%s","kibana.alert.risk_score":%s,`+
		`"kibana.alert.reason":"authentication event with source %s by %s created an alert.",`+
		`"kibana.alert.original_time":%s,"kibana.alert.original_event.action":"user.session.start","kibana.alert.original_event.outcome":"%s",`+
		`"kibana.alert.rule.name":"Okta Sign-In From Anonymizing Proxy","kibana.alert.rule.rule_id":"c7e1a9f4-3b5d-4e6f-8a2c-1d3e5f7a9b0c",`+
		`"kibana.alert.rule.risk_score":%d,"kibana.alert.rule.tags":["Data Source: Okta"],"kibana.version":"8.15.3",`+
		`"event":{"category":["authentication","session"],"action":"user.session.start","outcome":"%s","dataset":"okta.system"},`+
		`"user":{"id":"%s","name":"%s","email":"%s"},"source":{"ip":"%s","geo":{"country_iso_code":"%s","city_name":"%s"}},`+
		`"okta":{"actor":{"alternate_id":"%s","id":"%s","type":"User"},"security_context":{"is_proxy":%s}}}`,
		v.at.Add(5*time.Minute).Format(time.RFC3339Nano), v.id, v.levelWord(false), num(v.oddScore(), v.odd == 6),
		v.ip, v.login, ts(v.at, v.odd), outcome, v.score, outcome, v.userID, v.login, v.user, v.ip, v.country, v.city,
		v.user, v.userID, boolean(v.level >= 3, v.odd%2 == 0))
}

func (g *Generator) onePassword(dst []byte, v varied) []byte {
	category, typ := "success", "credentials_ok"
	if !v.success {
		category, typ = []string{"credentials_failed", "mfa_failed", "firewall_failed"}[v.odd%3], []string{"password_secret_bad", "totp_bad", "country_blocked"}[v.odd%3]
	}
	return fmt.Appendf(dst, `{"uuid":"%s","session_uuid":"%s","timestamp":%s,"category":"%s","type":"%s","country":"%s",`+
		`"target_user":{"uuid":"OP%s","name":"%s %s","email":"%s"},`+
		`"client":{"app_name":"1Password Browser Extension","app_version":%s,"platform_name":"Chrome","platform_version":"129.0.6668.90",`+
		`"os_name":"Windows","os_version":"10.0.19045","ip_address":"%s"},`+
		`"location":{"country":"%s","region":"","city":"%s","latitude":44.43,"longitude":26.1},`+
		`"notes":"%s","account_uuid":"%s"}`,
		v.id, g.uuid(), ts(v.at, v.odd), category, typ, v.country, v.userID[3:], v.first, v.last, v.user,
		num(81101012, v.odd != 3), v.ip, v.country, v.city, userAgent, g.uuid())
}

func (g *Generator) gws(dst []byte, v varied) []byte {
	name := "login_success"
	if !v.success {
		name = []string{"login_failure", "login_challenge", "suspicious_login"}[v.odd%3]
	}
	loginTS := strconv.FormatInt(v.at.UnixMicro(), 10)
	if v.odd == 5 {
		loginTS = `"` + loginTS + `"`
	}
	return fmt.Appendf(dst, `{"kind":"admin#reports#activity","id":{"time":"%s","uniqueQualifier":"%d","applicationName":"login","customerId":"C03ex4mpl"},`+
		`"etag":"\"Xk2fP9qR7sT1uV3wY5zA8bC0dE4/Lm6nO8pQ0rS2tU4vW6xY8zA1bC3\"",`+
		`"actor":{"callerType":"USER","email":"%s","profileId":"1048293756%011d"},"ipAddress":"%s",`+
		`"networkInfo":{"ipAsn":[64500],"regionCode":"%s","subdivisionCode":"%s-B"},`+
		`"events":[{"type":"login","name":"%s","parameters":[{"name":"login_type","value":"google_password"},`+
		`{"name":"login_challenge_method","multiValue":["password","totp"]},{"name":"is_suspicious","boolValue":%s},`+
		`{"name":"affected_email_address","value":"%s"},{"name":"login_timestamp","intValue":%s}]}],`+
		`"userAgent":"%s"}`,
		v.at.Format(time.RFC3339Nano), g.r.Int64(), v.user, g.r.IntN(1e11), v.ip, v.country, v.country, name,
		boolean(v.level >= 3, v.odd%2 == 0), v.user, loginTS, userAgent)
}

func (g *Generator) cloudTrail(dst []byte, v varied) []byte {
	result, errMsg := "Success", ""
	if !v.success {
		result, errMsg = "Failure", `"errorMessage":"Failed authentication",`
	}
	return fmt.Appendf(dst, `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEROLEID:%s",`+
		`"arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/%s","accountId":"111122223333"},`+
		`"eventTime":%s,"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"%s",`+
		`"userAgent":"%s",%s"requestParameters":null,"responseElements":{"ConsoleLogin":"%s"},`+
		`"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/console/home?state=hashArgsFromTB_us-east-1","MobileVersion":"No","MFAUsed":"%s"},`+
		`"eventID":"%s","readOnly":%s,"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"111122223333",`+
		`"eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"signin.aws.amazon.com"}}`,
		v.user, v.user, ts(v.at, []int{1, 1, 1, 0, 3, 5, 1, 1, 4, 1}[v.odd]), v.ip, userAgent, errMsg, result,
		[]string{"Yes", "No"}[v.odd%2], v.id, boolean(false, v.odd == 2))
}

func (g *Generator) guardDuty(dst []byte, v varied) []byte {
	sev := strconv.FormatFloat(float64(v.score)/10, 'f', 1, 64)
	switch v.odd {
	case 6:
		sev = `"` + sev + `"`
	case 7:
		sev = "12"
	}
	return fmt.Appendf(dst, `{"version":"0","id":"%s","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"111122223333",`+
		`"time":"%s","region":"us-east-1","detail":{"schemaVersion":"2.0","accountId":"111122223333","region":"us-east-1","partition":"aws",`+
		`"id":"%032x","arn":"arn:aws:guardduty:us-east-1:111122223333:detector/12abc34d567e8fa901bc2d34e56789f0/finding/%s",`+
		`"type":"UnauthorizedAccess:IAMUser/TorIPCaller","resource":{"resourceType":"AccessKey","accessKeyDetails":{"accessKeyId":"ASIAEXAMPLEKEY123456",`+
		`"principalId":"AROAEXAMPLEROLEID:%s","userType":"AssumedRole","userName":"AWSReservedSSO_Admin_0123456789abcdef"}},`+
		`"service":{"serviceName":"guardduty","action":{"actionType":"AWS_API_CALL","awsApiCallAction":{"api":"ListUsers",`+
		`"remoteIpDetails":{"ipAddressV4":"%s","country":{"countryCode":"%s","countryName":"%s"},"city":{"cityName":"%s"}}}},`+
		`"archived":%s,"count":%s,"eventFirstSeen":"%s","eventLastSeen":%s},"severity":%s,"createdAt":"%s","updatedAt":"%s",`+
		`"title":"API ListUsers was invoked from a Tor exit node."}}`,
		v.id, v.at.Add(time.Minute).Format(time.RFC3339), g.r.Uint64(), v.id, v.user, v.ip, v.country, v.countryName, v.city,
		boolean(false, v.odd == 3), num(3, v.odd == 4), v.at.Add(-time.Minute).Format(time.RFC3339Nano), ts(v.at, []int{0, 1, 2, 3, 4, 0, 0, 0, 0, 0}[v.odd]), sev,
		v.at.Format(time.RFC3339Nano), v.at.Add(30*time.Second).Format(time.RFC3339Nano))
}

func (g *Generator) splunk(dst []byte, v varied) []byte {
	action := "success"
	if !v.success {
		action = "failure"
	}
	t := strconv.FormatFloat(float64(v.at.UnixMilli())/1000, 'f', 3, 64)
	return fmt.Appendf(dst, `{"sid":"scheduler__admin__search__RMD5%s_at_%d","search_name":"Risky sign-in from anonymizing network","app":"search","owner":"admin",`+
		`"results_link":"https://splunk.example.com:8000/app/search/search?q=%%7Cloadjob%%20scheduler__admin__search__RMD5%s",`+
		`"result":{"_time":"%s","user":"%s","src":"%s","src_country":"%s","action":"%s","urgency":"%s","risk_score":%s,`+
		`"signature":"anonymizing_network_signin","app":"okta","dest":"okta.example.com","http_user_agent":"%s","count":"1"}}`,
		v.id[:18], v.at.Unix(), v.id[:18], t, v.user, v.ip, v.countryName, action, v.levelWord(false), num(v.oddScore(), v.odd != 2), userAgent)
}

func (g *Generator) panther(dst []byte, v varied) []byte {
	outcome := "SUCCESS"
	if !v.success {
		outcome = "FAILURE"
	}
	return fmt.Appendf(dst, `{"id":"Okta.Login.AnonymizingProxy","createdAt":"%s","severity":"%s","type":"RULE",`+
		`"link":"https://example.runpanther.net/alerts/%s","title":"Okta sign-in through anonymizing proxy by %s",`+
		`"name":"Okta Login Via Anonymizing Proxy","alertId":"%s","description":"A user signed in through an anonymizing proxy.",`+
		`"runbook":"Check the session and reset the user's factors.","tags":["Okta","Identity"],"version":"v1",`+
		`"alertContext":{"actor":"%s","ip":"%s","country":"%s","outcome":"%s","time":%s,"user_agent":"%s"}}`,
		v.at.Add(6*time.Minute).Format(time.RFC3339Nano), v.levelWord(true), v.id, v.user, v.id, v.user, v.ip, v.country, outcome,
		ts(v.at, v.odd), userAgent)
}
