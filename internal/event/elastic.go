package event

// elasticAlertEvent maps an Elastic Security alert document. Its kibana.*
// fields are usually literal dotted keys; the source event's ECS fields are
// copied in. A closed alert (workflow_status closed) has risk none.
func elasticAlertEvent(m map[string]any) (Event, *Error) {
	d := &fields{m: m, f: FormatElasticAlert}
	e := Event{Source: string(FormatElasticAlert), Kind: KindAlert}
	ecsCommon(&e, d)
	e.Outcome, _ = outcomeWord(d.firstStr("kibana.alert.original_event.outcome", "event.outcome"))
	e.RiskScore = d.score("kibana.alert.risk_score", 1)
	if e.RiskScore == nil {
		e.RiskScore = d.score("kibana.alert.rule.risk_score", 1)
	}
	e.Risk, _ = riskWord(d.firstStr("kibana.alert.severity", "kibana.alert.rule.severity"))
	if e.Risk == RiskUnknown && e.RiskScore != nil {
		e.Risk = riskFromScore(*e.RiskScore)
	}
	if d.str("kibana.alert.workflow_status") == "closed" {
		e.Risk = RiskNone
	}
	e.Reasons = d.strs(nil, "kibana.alert.rule.name")
	e.Reasons = d.strs(e.Reasons, "kibana.alert.rule.rule_id")
	e.Reasons = d.strs(e.Reasons, "kibana.alert.original_event.action")
	e.Reasons = ecsVendorReasons(d, e.Reasons)
	e.Time = d.firstTime(unitGuess, "kibana.alert.original_time", "@timestamp")
	e.EventID = prefixID(e.Source, d.str("kibana.alert.uuid"), m)
	return e, finish(&e, d, m)
}
