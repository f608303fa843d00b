"""SS7 over SIGTRAN for the Real-Time Lookup: sans-IO codecs, one module per layer.

gsm_map   3GPP TS 29.002  MAP SendRoutingInfoForSM
tcap      ITU-T Q.773     TCAP messages, dialogue portion, components
ber       ITU-T X.690     the BER subset the two above need
sccp      ITU-T Q.713     SCCP connectionless messages (UDT, XUDT, UDTS, XUDTS)
m3ua      RFC 4666        M3UA messages, and framing over TCP
m3ua_asp  RFC 4666 §4.3   the ASP state machine, both ends of an association
ipa       Osmocom IPA     SCCPlite multiplex toward osmo-stp, CCM handshake
gateway   the SMS-GMSC side of SRI-SM across MAP, TCAP and SCCP
"""
