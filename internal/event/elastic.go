package event

// elasticAlertEvent maps an Elastic Security alert document. Its kibana.*
// fields are usually literal dotted keys; the source event's ECS fields are
// copied in. A closed alert (workflow_status closed) has risk none.
func elasticAlertEvent(doc *document, m map[string]any) (Event, *Error) {
	d := doc.fields(m, FormatElasticAlert)
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
	var rs reasonSet
	d.strs(&rs, "kibana.alert.rule.name")
	d.strs(&rs, "kibana.alert.rule.rule_id")
	d.strs(&rs, "kibana.alert.original_event.action")
	ecsVendorReasons(d, &rs)
	rs.into(&e)
	e.Time = d.firstTime(unitGuess, "kibana.alert.original_time", "@timestamp")
	e.EventID = prefixID(e.Source, d.eventID("kibana.alert.uuid"))
	return e, finish(&e, d, m)
}
